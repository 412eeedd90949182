#!/usr/bin/env python3
"""Renders a tmux capture with escape sequences (`tmux capture-pane -e -p`)
as a PNG, cell by cell, in DejaVu Sans Mono: what the terminal showed,
colours, bold and reverse video included.

Usage: ansi2png.py CAPTURE.ans OUT.png [--cols 80] [--rows 24]
Needs Pillow (pip install pillow) and the DejaVu fonts (Debian fonts-dejavu).
"""

import argparse
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
FONT_SIZE = 15
BACKGROUND = (24, 26, 33)
FOREGROUND = (215, 218, 224)

# The xterm palette for the 16 basic colours.
BASIC = [
    (0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16),
    (36, 114, 200), (188, 63, 188), (17, 168, 205), (229, 229, 229),
    (102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67),
    (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255),
]


def palette_256(n):
    if n < 16:
        return BASIC[n]
    if n < 232:
        n -= 16
        levels = [0, 95, 135, 175, 215, 255]
        return (levels[n // 36], levels[(n // 6) % 6], levels[n % 6])
    grey = 8 + (n - 232) * 10
    return (grey, grey, grey)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = False
        self.reverse = False
        self.dim = False
        self.underline = False

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = BASIC[c - 30]
            elif 90 <= c <= 97:
                self.fg = BASIC[c - 90 + 8]
            elif 40 <= c <= 47:
                self.bg = BASIC[c - 40]
            elif 100 <= c <= 107:
                self.bg = BASIC[c - 100 + 8]
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    colour = palette_256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    colour = tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    colour = None
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
            i += 1

    def colours(self):
        fg = self.fg or FOREGROUND
        bg = self.bg or BACKGROUND
        if self.dim:
            fg = tuple(int(v * 0.6 + b * 0.4) for v, b in zip(fg, bg))
        if self.reverse:
            fg, bg = bg, fg
        return fg, bg


TOKEN = re.compile(r"\x1b\[([0-9;]*)m|\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|(.)", re.S)


def render(text, cols, rows, out):
    regular = ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", FONT_SIZE)
    bold = ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", FONT_SIZE)
    left, top, right, bottom = regular.getbbox("M")
    cell_w = int(regular.getlength("M") + 0.5)
    cell_h = int(FONT_SIZE * 1.25)
    pad = 10
    image = Image.new("RGB", (cols * cell_w + 2 * pad, rows * cell_h + 2 * pad), BACKGROUND)
    draw = ImageDraw.Draw(image)
    style = Style()
    for row, line in enumerate(text.split("\n")[:rows]):
        col = 0
        for match in TOKEN.finditer(line):
            if match.group(1) is not None:
                style.apply(match.group(1))
                continue
            char = match.group(2)
            if char is None or col >= cols:
                continue
            fg, bg = style.colours()
            # Wide characters (CJK, emoji) take two cells.
            width = 2 if ord(char) >= 0x1100 and _wide(char) else 1
            x = pad + col * cell_w
            y = pad + row * cell_h
            draw.rectangle([x, y, x + width * cell_w - 1, y + cell_h - 1], fill=bg)
            if char != " ":
                font = bold if style.bold else regular
                draw.text((x, y + 1), char, font=font, fill=fg)
            if style.underline:
                draw.line([x, y + cell_h - 2, x + width * cell_w - 1, y + cell_h - 2], fill=fg)
            col += width
    image.save(out)


def _wide(char):
    import unicodedata
    return unicodedata.east_asian_width(char) in ("W", "F")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("capture")
    parser.add_argument("out")
    parser.add_argument("--cols", type=int, default=80)
    parser.add_argument("--rows", type=int, default=24)
    args = parser.parse_args()
    with open(args.capture, encoding="utf-8", errors="replace") as f:
        text = f.read()
    render(text, args.cols, args.rows, args.out)


if __name__ == "__main__":
    sys.exit(main())
