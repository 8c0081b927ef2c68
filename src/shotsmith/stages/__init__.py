"""Pipeline stages: each reads its inputs from a workspace, calls domain functions, writes its outputs."""
