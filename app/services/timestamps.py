"""Kept for existing imports: the textual form of times lives in `app.timestamps`, below both the
services and the notification layer."""

from app.timestamps import iso_z as iso_z
