"""What the kernel's screen should show, and what it does show.

The kernel writes the same text to COM1 and to the screen, so the serial log says what the
screen must hold: `expected_rows` replays it like the console does (wrapping at the last
column, scrolling at the bottom). `read_framebuffer_rows` reads a screendump back into text
with the console's own font file (src/console/fonts/spleen-8x16.psfu), cell by cell, and
`vga_text_rows` reads VGA text memory through the QEMU monitor.
"""

import os
import re
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FONT_FILE = os.path.join(ROOT, "src/console/fonts/spleen-8x16.psfu")

# The first line the kernel writes: every kernel log line starts with its uptime and level.
# (Not anchored at a line start: GRUB's EFI console may leave escape codes before it.)
KERNEL_LINE = re.compile(r"\[\s*\d+\.\d{3}\] (INFO|WARN|ERROR) ")
CONSOLE_LINE = re.compile(r"console: .*framebuffer (\d+)x(\d+) at (0x[0-9a-f]+), (\d+) bits per pixel: "
                          r"(\d+) x (\d+) cells of (\d+)x(\d+), the first line at pixel \((\d+), (\d+)\)")


class Psf1Font:
    """A PSF1 font: 8 pixels wide, one byte per pixel row (bit 7 leftmost). ASCII glyphs are
    found through the Unicode table, as the kernel finds them (src/console/font.rs)."""

    def __init__(self, path=FONT_FILE):
        with open(path, "rb") as f:
            data = f.read()
        assert data[:2] == b"\x36\x04", "not a PSF1 font"
        mode, self.height = data[2], data[3]
        count = 512 if mode & 1 else 256
        self.glyphs = [data[4 + i * self.height:4 + (i + 1) * self.height] for i in range(count)]
        self.index = {}
        table = data[4 + count * self.height:] if mode & 2 else b""
        glyph, in_sequence = 0, False
        for i in range(0, len(table) - 1, 2):
            code = table[i] | table[i + 1] << 8
            if code == 0xFFFF:
                glyph, in_sequence = glyph + 1, False
            elif code == 0xFFFE:
                in_sequence = True
            elif not in_sequence:
                self.index.setdefault(chr(code), glyph)

    def rows(self, ch):
        return self.glyphs[self.index.get(ch, self.index.get("\ufffd", ord("?")))]


def kernel_text(serial_log):
    """The serial log from the kernel's first line on (firmware and GRUB print before it)."""
    first = KERNEL_LINE.search(serial_log)
    assert first, "no kernel line in the serial log"
    return serial_log[first.start():]


def terminal_rows(text, columns):
    """`text` as a terminal of `columns` lays it out: one entry per screen row, the last one
    the row the cursor is on."""
    rows, current = [], ""
    for ch in text:
        if ch == "\n":
            rows.append(current)
            current = ""
        elif ch == "\r":
            continue
        else:
            if len(current) == columns:
                rows.append(current)
                current = ""
            current += ch
    rows.append(current)
    return rows


def expected_rows(serial_log, columns, rows, from_top=True):
    """The rows the screen must show. The framebuffer console writes from the top row down
    and then scrolls; VGA text mode writes on the bottom row and scrolls up (`from_top=False`)."""
    laid_out = [row.rstrip() for row in terminal_rows(kernel_text(serial_log), columns)]
    if from_top:
        return laid_out[-rows:]
    return ([""] * rows + laid_out)[-rows:]


class Screendump:
    def __init__(self, width, height, pixels):
        self.width, self.height, self.pixels = width, height, pixels

    def pixel(self, x, y):
        at = (y * self.width + x) * 3
        return tuple(self.pixels[at:at + 3])

    def lit_pixels(self):
        """Pixels that are not black."""
        return sum(1 for i in range(0, len(self.pixels), 3) if self.pixels[i:i + 3] != b"\0\0\0")

    def cell(self, column, row, font, origin=(0, 0)):
        """The cell's background colour, its ink colour (None if it has none) and its ink as
        rows of bits: ink is every pixel that differs from the cell's most common colour."""
        x0, y0 = origin[0] + column * 8, origin[1] + row * font.height
        colours = [[self.pixel(x0 + x, y0 + y) for x in range(8)] for y in range(font.height)]
        background = Counter(c for line in colours for c in line).most_common(1)[0][0]
        bits = bytes(sum(0x80 >> x for x in range(8) if line[x] != background) for line in colours)
        inks = {c for line in colours for c in line if c != background}
        return background, (inks.pop() if len(inks) == 1 else (None if not inks else inks)), bits


def read_framebuffer_rows(shot, font, columns, rows, origin=(0, 0)):
    """The text of each row of cells, read back by matching every cell's ink against the
    font's printable ASCII glyphs ('#' where nothing matches); and the colours of each row."""
    by_ink = {}
    for code in range(0x20, 0x7F):
        by_ink.setdefault(font.rows(chr(code)), chr(code))
    texts, colours = [], []
    for row in range(rows):
        text, row_colours = "", set()
        for column in range(columns):
            background, ink, bits = shot.cell(column, row, font, origin)
            text += by_ink.get(bits, "#")
            row_colours.add((background, ink if isinstance(ink, tuple) or ink is None else ink))
        texts.append(text.rstrip())
        colours.append(row_colours)
    return texts, colours


def vga_text_rows(vm, columns=80, rows=25):
    """The VGA text buffer at 0xb8000, read through the QEMU monitor: (text, attribute) per
    row."""
    cells = []
    for start in range(0, columns * rows, 400):
        out = vm.monitor(f"xp /400hx {0xb8000 + start * 2:#x}")
        cells += [int(word, 16) for line in out.splitlines() if ":" in line
                  for word in re.findall(r"0x([0-9a-f]{4})\b", line.split(":", 1)[1])]
    cells = cells[:columns * rows]
    text = ["".join(chr(c & 0xFF) for c in cells[r * columns:(r + 1) * columns]).rstrip()
            for r in range(rows)]
    attributes = [[c >> 8 for c in cells[r * columns:(r + 1) * columns]] for r in range(rows)]
    return text, attributes
