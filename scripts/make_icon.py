"""Draw the application icon (``resources/icon.png`` and ``resources/icon.ico``); run once, output committed.

A bone on a dark film-like square with an amber dot: a radiograph that has been put first.
``python scripts/make_icon.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SIZE = 512


def draw() -> Image.Image:
    icon = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    film = ImageDraw.Draw(icon)
    film.rounded_rectangle((16, 16, SIZE - 16, SIZE - 16), radius=96, fill=(22, 28, 36, 255))
    bone = Image.new("L", (SIZE, SIZE), 0)
    pen = ImageDraw.Draw(bone)
    # a long bone drawn diagonally: a shaft and two knobbly ends
    pen.line((150, 360, 340, 170), fill=235, width=62)
    for cx, cy in ((128, 352), (160, 392), (330, 128), (370, 162)):
        pen.ellipse((cx - 50, cy - 50, cx + 50, cy + 50), fill=235)
    bone = bone.filter(ImageFilter.GaussianBlur(1.5))
    icon.paste(Image.new("RGBA", (SIZE, SIZE), (236, 240, 244, 255)), (0, 0), bone)
    film.ellipse((356, 356, 456, 456), fill=(245, 158, 11, 255), outline=(22, 28, 36, 255), width=10)
    return icon


def main() -> int:
    out = Path(__file__).resolve().parent.parent / "resources"
    icon = draw()
    icon.resize((256, 256), Image.Resampling.LANCZOS).save(out / "icon.png")
    icon.save(out / "icon.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    print(f"wrote {out / 'icon.png'} and {out / 'icon.ico'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
