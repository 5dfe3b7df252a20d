"""The class both sides use, and its converters (imported by server.py and client.py)."""
from __future__ import annotations

from typing import Any

from Pyro5.api import register_class_to_dict, register_dict_to_class


class Point:
    def __init__(self, x: float, y: float) -> None:
        self.x, self.y = x, y

    def __repr__(self) -> str:
        return f"Point({self.x}, {self.y})"


def point_to_dict(p: Point) -> dict[str, Any]:
    return {"__class__": "shapes.Point", "x": p.x, "y": p.y}


def dict_to_point(classname: str, d: dict[str, Any]) -> Point:
    return Point(float(d["x"]), float(d["y"]))


def register_converters() -> None:
    register_class_to_dict(Point, point_to_dict)          # how to send a Point
    register_dict_to_class("shapes.Point", dict_to_point)  # how to turn a received one back into a Point
