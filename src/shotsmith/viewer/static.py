"""trajectory.html: one self-contained page that shows a camera path in 3D, offline, in any browser.

No viser and no network: the page carries its data (the path, one frustum per frame coloured by time, the source
camera, the subject point 1.0 ahead of it and, when given, a subsample of the cache's point cloud quantised to
16 bits per axis) as base64 in the file and draws it with a small canvas-2D renderer written here (points through
a z-buffer, lines on top). Drag to orbit, shift-drag or right-drag to pan, wheel to zoom, double-click to reset;
the slider and Play step through the frames. `write_trajectory_html` is what `plan` and `run` call beside
trajectory.png; it imports only numpy and `shotsmith.camera`.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath

#: Most cloud points embedded (about 0.6 MB of base64).
MAX_HTML_POINTS = 60_000
#: Most frustums drawn along the path (every frame up to this, then evenly spaced ones).
MAX_FRUSTUMS = 41


def _b64(arr: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode("ascii")


def frustum_corners(cam: CameraPath, index: int, scale: float) -> np.ndarray:
    """(5, 3) world points: the camera centre and its image corners (top-left, top-right, bottom-right,
    bottom-left) at depth `scale`."""
    fx, fy, cx, cy = cam.intrinsics[index]
    w, h = cam.width, cam.height
    px = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
    rays = np.stack([(px[:, 0] - cx) / fx, (px[:, 1] - cy) / fy, np.ones(4)], axis=1) * scale
    m = cam.world_from_camera[index]
    return np.vstack([m[:3, 3], rays @ m[:3, :3].T + m[:3, 3]])


def _scene_scale(cam: CameraPath, points: np.ndarray | None) -> float:
    parts = [cam.centers, np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])]
    if points is not None and len(points):
        parts.append(np.percentile(points, [5, 95], axis=0))
    allp = np.concatenate(parts)
    return float(max(np.linalg.norm(allp.max(0) - allp.min(0)), 0.5))


def trajectory_payload(
    cam: CameraPath, points: np.ndarray | None = None, colors: np.ndarray | None = None, seed: int = 0
) -> dict:
    """The JSON the page reads: frames, frustums, source camera, subject and the (quantised) point cloud."""
    n = len(cam)
    scale = 0.06 * _scene_scale(cam, points)
    shown = np.unique(np.round(np.linspace(0, n - 1, min(n, MAX_FRUSTUMS))).astype(int))
    frusta = np.stack([frustum_corners(cam, int(i), scale) for i in range(n)]).astype(np.float32)
    source = CameraPath(np.eye(4)[None], cam.intrinsics[:1], cam.width, cam.height)
    data = {
        "frames": n,
        "fps": cam.fps,
        "width": cam.width,
        "height": cam.height,
        "centers": _b64(cam.centers.astype(np.float32)),
        "frusta": _b64(frusta),
        "shown": shown.tolist(),
        "source": frustum_corners(source, 0, scale * 1.4).tolist(),
        "subject": [0.0, 0.0, 1.0],
        "label": _label(cam),
        "points": 0,
    }
    if points is not None and len(points):
        pts = np.asarray(points, np.float32).reshape(-1, 3)
        cols = (
            np.full(pts.shape, 200, np.uint8)
            if colors is None
            else np.asarray(colors).reshape(-1, 3).astype(np.uint8)
        )
        keep = np.isfinite(pts).all(axis=1)
        pts, cols = pts[keep], cols[keep]
        if len(pts) > MAX_HTML_POINTS:
            idx = np.sort(np.random.default_rng(seed).choice(len(pts), MAX_HTML_POINTS, replace=False))
            pts, cols = pts[idx], cols[idx]
        if len(pts):
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            span = np.maximum(hi - lo, 1e-9)
            q = np.round((pts - lo) / span * 65535.0).astype(np.uint16)
            data.update(
                points=int(len(pts)),
                lo=lo.tolist(),
                span=span.tolist(),
                xyz=_b64(q),
                rgb=_b64(cols),
            )
    return data


def _label(cam: CameraPath) -> str:
    meta = cam.meta or {}
    for key in ("text", "preset", "spec", "file", "source"):
        if meta.get(key):
            return f"{key}: {meta[key]}"
    return ""


def trajectory_html(
    cam: CameraPath,
    points: np.ndarray | None = None,
    colors: np.ndarray | None = None,
    title: str = "shotsmith trajectory",
) -> str:
    """The page (a str) for `cam`, with the point cloud when `points` (P, 3) and `colors` (P, 3) are given."""
    payload = json.dumps(trajectory_payload(cam, points, colors), separators=(",", ":"))
    return (
        _PAGE.replace("__TITLE__", html.escape(title))
        .replace("__DATA__", payload.replace("</", "<\\/"))
        .replace("__SCRIPT__", _SCRIPT)
    )


def write_trajectory_html(
    path, cam: CameraPath, points: np.ndarray | None = None, colors: np.ndarray | None = None
) -> Path:
    """Write trajectory.html for `cam` (with the point cloud when given) to `path` (not atomic: the caller's
    job, e.g. `Workspace.atomic`). Returns the path."""
    path = Path(path)
    path.write_text(trajectory_html(cam, points, colors), encoding="utf-8")
    return path


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
html,body{margin:0;height:100%;background:#15171c;color:#dde;font:13px system-ui,sans-serif;overflow:hidden}
#c{position:absolute;inset:0;width:100%;height:100%;cursor:grab;touch-action:none}
#ui{position:absolute;left:10px;top:10px;background:rgba(20,22,28,.85);padding:8px 10px;border-radius:6px;
max-width:360px}
#ui b{color:#fff} #ui input[type=range]{width:220px;vertical-align:middle}
#ui button{background:#2f6fe4;color:#fff;border:0;border-radius:4px;padding:2px 10px;cursor:pointer}
.k{display:inline-block;width:60px;height:8px;background:linear-gradient(90deg,#285ae6,#1ebea0,#fac828,#eb4628);
border-radius:2px;vertical-align:middle}
</style></head><body>
<canvas id="c"></canvas>
<div id="ui"><b>__TITLE__</b> <span id="lbl"></span><br>
<span id="info"></span><br>
<input id="fr" type="range" min="0" value="0"> <button id="play">Play</button> <span id="fk"></span><br>
<span class="k"></span> start &rarr; end &nbsp; white: source camera &nbsp; red dot: subject<br>
<small>drag: orbit &middot; shift/right-drag: pan &middot; wheel: zoom &middot; double-click: reset</small></div>
<script id="data" type="application/json">__DATA__</script>
<script>__SCRIPT__</script>
</body></html>
"""

_SCRIPT = r"""
(function(){
"use strict";
var D=JSON.parse(document.getElementById("data").textContent);
function f32(b){var s=atob(b),u=new Uint8Array(s.length);for(var i=0;i<s.length;i++)u[i]=s.charCodeAt(i);
return new Float32Array(u.buffer);}
function u8(b){var s=atob(b),u=new Uint8Array(s.length);for(var i=0;i<s.length;i++)u[i]=s.charCodeAt(i);return u;}
function u16(b){var u=u8(b);return new Uint16Array(u.buffer);}
var N=D.frames,C=f32(D.centers),F=f32(D.frusta),P=null,RGB=null,NP=D.points;
if(NP>0){var q=u16(D.xyz);RGB=u8(D.rgb);P=new Float32Array(NP*3);
for(var i=0;i<NP;i++)for(var a=0;a<3;a++)P[i*3+a]=D.lo[a]+q[i*3+a]/65535*D.span[a];}
function tcol(t){var s=[[40,90,230],[30,190,160],[250,200,40],[235,70,40]];t=Math.min(Math.max(t,0),1);
var x=t*3,i=Math.min(Math.floor(x),2),f=x-i;return "rgb("+[0,1,2].map(function(c){
return Math.round(s[i][c]+f*(s[i+1][c]-s[i][c]));}).join(",")+")";}
// Scene centre and extent: cameras, subject, and the cloud.
var lo=[1e9,1e9,1e9],hi=[-1e9,-1e9,-1e9];
function grow(x,y,z){var v=[x,y,z];for(var a=0;a<3;a++){lo[a]=Math.min(lo[a],v[a]);hi[a]=Math.max(hi[a],v[a]);}}
for(var i=0;i<N;i++)grow(C[i*3],C[i*3+1],C[i*3+2]);grow(0,0,0);grow(0,0,1);
for(var i=0;i<NP;i+=Math.max(1,Math.floor(NP/2000)))grow(P[i*3],P[i*3+1],P[i*3+2]);
var ctr0=[(lo[0]+hi[0])/2,(lo[1]+hi[1])/2,(lo[2]+hi[2])/2];
var ext=Math.max(Math.hypot(hi[0]-lo[0],hi[1]-lo[1],hi[2]-lo[2])/2,0.3);
var V={};function reset(){V.yaw=-0.55;V.pitch=0.35;V.dist=ext*1.9;V.ctr=ctr0.slice();}reset();
var cv=document.getElementById("c"),g=cv.getContext("2d"),W=0,H=0,img=null,zb=null,k=0;
function basis(){ // Camera looking at ctr from yaw/pitch; world is OpenCV (y down), so screen-up is -y.
var cy=Math.cos(V.yaw),sy=Math.sin(V.yaw),cp=Math.cos(V.pitch),sp=Math.sin(V.pitch);
var fwd=[sy*cp,sp,cy*cp]; // looking direction (pitch>0 looks down: +y is down)
var eye=[V.ctr[0]-fwd[0]*V.dist,V.ctr[1]-fwd[1]*V.dist,V.ctr[2]-fwd[2]*V.dist];
var right=[cy,0,-sy];var down=[fwd[1]*right[2]-fwd[2]*right[1],fwd[2]*right[0]-fwd[0]*right[2],
fwd[0]*right[1]-fwd[1]*right[0]];
return {e:eye,r:right,d:down,f:fwd,fl:0.9*Math.min(W,H)};}
function proj(B,x,y,z){var px=x-B.e[0],py=y-B.e[1],pz=z-B.e[2];
var zc=px*B.f[0]+py*B.f[1]+pz*B.f[2];if(zc<1e-3)return null;
return [W/2+B.fl*(px*B.r[0]+py*B.r[1]+pz*B.r[2])/zc,H/2+B.fl*(px*B.d[0]+py*B.d[1]+pz*B.d[2])/zc,zc];}
function line(B,a,b,col,w){var p=proj(B,a[0],a[1],a[2]),q=proj(B,b[0],b[1],b[2]);if(!p||!q)return;
g.strokeStyle=col;g.lineWidth=w;g.beginPath();g.moveTo(p[0],p[1]);g.lineTo(q[0],q[1]);g.stroke();}
function fr(i,a){return [F[(i*5+a)*3],F[(i*5+a)*3+1],F[(i*5+a)*3+2]];}
function frustum(B,pts,col,w){for(var a=1;a<5;a++){line(B,pts[0],pts[a],col,w);line(B,pts[a],pts[a%4+1],col,w);}}
function draw(){
if(cv.width!==cv.clientWidth||cv.height!==cv.clientHeight){W=cv.width=cv.clientWidth;H=cv.height=cv.clientHeight;
img=g.createImageData(W,H);zb=new Float32Array(W*H);}
var B=basis(),d=img.data;for(var i=0;i<d.length;i+=4){d[i]=21;d[i+1]=23;d[i+2]=28;d[i+3]=255;}zb.fill(Infinity);
var s=2;
for(var i=0;i<NP;i++){var p=proj(B,P[i*3],P[i*3+1],P[i*3+2]);if(!p)continue;
var u=Math.floor(p[0]),v=Math.floor(p[1]);
for(var dy=0;dy<s;dy++)for(var dx=0;dx<s;dx++){var x=u+dx,y=v+dy;if(x<0||y<0||x>=W||y>=H)continue;
var o=y*W+x;if(p[2]<zb[o]){zb[o]=p[2];d[o*4]=RGB[i*3];d[o*4+1]=RGB[i*3+1];d[o*4+2]=RGB[i*3+2];}}}
g.putImageData(img,0,0);
frustum(B,D.source,"rgba(255,255,255,0.9)",1.5);
for(var i=0;i+1<N;i++)line(B,[C[i*3],C[i*3+1],C[i*3+2]],[C[i*3+3],C[i*3+4],C[i*3+5]],tcol(i/Math.max(N-1,1)),3);
D.shown.forEach(function(i){var p=[0,1,2,3,4].map(function(a){return fr(i,a);});
frustum(B,p,tcol(i/Math.max(N-1,1)),1);});
var p=[0,1,2,3,4].map(function(a){return fr(k,a);});frustum(B,p,"#fff",3);
var sp=proj(B,D.subject[0],D.subject[1],D.subject[2]);
if(sp){g.fillStyle="#ff3b3b";g.beginPath();g.arc(sp[0],sp[1],5,0,7);g.fill();}
document.getElementById("fk").textContent="frame "+k+" / "+(N-1)+" ("+(k/D.fps).toFixed(2)+" s)";}
document.getElementById("lbl").textContent=D.label||"";
document.getElementById("info").textContent=N+" frames, "+D.fps+" fps, "+D.width+"x"+D.height+
(NP?", "+NP+" cloud points":", no point cloud (no 3D cache)");
var sl=document.getElementById("fr");sl.max=N-1;sl.oninput=function(){k=+sl.value;draw();};
var timer=null,pb=document.getElementById("play");
pb.onclick=function(){if(timer){clearInterval(timer);timer=null;pb.textContent="Play";return;}
pb.textContent="Pause";timer=setInterval(function(){k=(k+1)%N;sl.value=k;draw();},1000/Math.min(D.fps,30));};
var drag=null;cv.oncontextmenu=function(e){e.preventDefault();};
cv.onpointerdown=function(e){drag={x:e.clientX,y:e.clientY,pan:e.shiftKey||e.button===2};
cv.setPointerCapture(e.pointerId);};
cv.onpointerup=function(){drag=null;};
cv.onpointermove=function(e){if(!drag)return;var dx=e.clientX-drag.x,dy=e.clientY-drag.y;drag.x=e.clientX;
drag.y=e.clientY;if(drag.pan){var B=basis(),s=V.dist/B.fl;for(var a=0;a<3;a++)V.ctr[a]-=s*(dx*B.r[a]+dy*B.d[a]);}
else{V.yaw+=dx*0.008;V.pitch=Math.max(-1.5,Math.min(1.5,V.pitch+dy*0.008));}draw();};
cv.onwheel=function(e){e.preventDefault();V.dist*=Math.exp(e.deltaY*0.001);draw();};
cv.ondblclick=function(){reset();draw();};
window.onresize=draw;draw();
})();
"""
