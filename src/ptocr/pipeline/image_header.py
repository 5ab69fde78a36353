"""The size of an encoded image read from its header alone, before any decoder sees the data.

OpenCV and Pillow allocate a whole image as soon as they have read its header: a few bytes declaring
17000×17000 pixels cost gigabytes before anyone could refuse them. So ptocr reads the header of every format it
accepts itself, with plain byte arithmetic that allocates nothing, and refuses what is too large (or what it
cannot size) before calling a decoder. The formats are exactly those this OpenCV build decodes (plus GIF, which
Pillow decodes): PNG, JPEG, GIF, BMP, TIFF (and BigTIFF), WebP, AVIF, PNM/PAM/PFM, Radiance HDR, Sun raster and
JPEG 2000. Anything else is refused with the list of accepted formats.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from ptocr.errors import ImageDecodeError

#: The formats `probe` sizes, as named in messages.
ACCEPTED_FORMATS = "PNG, JPEG, GIF, BMP, TIFF, WebP, AVIF, PNM/PAM/PFM, Radiance HDR, Sun raster, JPEG 2000, PDF"
# A text header (PNM, HDR) longer than this is not a header: refused rather than scanned further.
_TEXT_HEADER_LIMIT = 64 * 1024


@dataclass(frozen=True)
class ImageHeader:
    """What the header declares: ``format`` (Pillow's name where Pillow has one), the largest frame's ``width``
    and ``height``, and ``frames`` (the page count of a TIFF, 1 for everything else)."""

    format: str
    width: int
    height: int
    frames: int = 1

    @property
    def pixels(self) -> int:
        return self.width * self.height


def probe(data: bytes, name: str, max_frames: int) -> ImageHeader:
    """The header of encoded ``data``; an ImageDecodeError for a format ptocr does not read, a header that is
    cut short or malformed, or (TIFF) more than ``max_frames`` pages."""
    try:
        header = _probe(data, max_frames)
    except (struct.error, IndexError, ValueError):  # cut short inside a field
        raise ImageDecodeError(
            f"cannot decode image {name}: not an image ptocr can read (its header is truncated or malformed)"
        ) from None
    if header is None:
        raise ImageDecodeError(
            f"cannot decode image {name}: not an image format ptocr reads (it reads {ACCEPTED_FORMATS})"
        )
    if isinstance(header, str):
        raise ImageDecodeError(f"cannot decode image {name}: not an image ptocr can read ({header})")
    if header.width < 1 or header.height < 1:
        raise ImageDecodeError(
            f"cannot decode image {name}: its {header.format} header declares {header.width}x{header.height} pixels"
        )
    return header


def _probe(data: bytes, max_frames: int) -> ImageHeader | str | None:
    """The header, a problem (str), or None for an unknown format."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", data[6:10])
        return ImageHeader("GIF", width, height)
    if data.startswith(b"BM"):
        return _bmp(data)
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _tiff(data, max_frames)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis", b"mif1", b"msf1"):
        return _avif(data)
    if data[:2] in (b"P1", b"P2", b"P3", b"P4", b"P5", b"P6") and data[2:3].isspace():
        return _pnm(data)
    if data[:3] == b"P7\n":
        return _pam(data)
    if data[:2] in (b"PF", b"Pf") and data[2:3].isspace():
        return _pfm(data)
    if data.startswith((b"#?RADIANCE", b"#?RGBE")):
        return _hdr(data)
    if data[:4] == b"\x59\xa6\x6a\x95":
        width, height = struct.unpack(">II", data[4:12])
        return ImageHeader("SUN", width, height)
    if data.startswith(b"\xff\x4f\xff\x51"):  # a raw JPEG 2000 codestream: its SIZ marker
        return _j2k_siz(data, 4)
    if data.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n"):
        return _jp2(data)
    return None


def _png(data: bytes) -> ImageHeader | str:
    """IHDR's size, after checking that every chunk fits in the file: OpenCV's PNG reader allocates a chunk's
    declared length before reading it, so a 150-byte file declaring a 4 GB chunk would cost 4 GB."""
    if data[12:16] != b"IHDR":
        return "a PNG without an IHDR header"
    width, height = struct.unpack(">II", data[16:24])
    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 12 + length  # length, type, data, CRC
        if end > len(data):
            return f"a PNG whose {kind.decode('latin-1')!r} chunk runs past the end of the file (truncated?)"
        if kind == b"IEND":
            break
        position = end
    return ImageHeader("PNG", width, height)


def _jpeg(data: bytes) -> ImageHeader | str:
    """The first start-of-frame marker's size, walking the marker segments (never the entropy-coded data)."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return "a JPEG whose markers are corrupt"
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7):  # no length
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or a scan before any frame header
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if length < 2:
            return "a JPEG whose markers are corrupt"
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            if height == 0:  # the height follows the first scan (a DNL marker): not sizable up front
                return "a JPEG whose height is declared after its data (DNL), which ptocr does not read"
            return ImageHeader("JPEG", width, height)
        position += 2 + length
    return "a JPEG without a frame header (truncated?)"


def _bmp(data: bytes) -> ImageHeader:
    (info_size,) = struct.unpack("<I", data[14:18])
    if info_size == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        width, height = struct.unpack("<HH", data[18:22])
    else:
        width, height = struct.unpack("<ii", data[18:26])  # a negative height means top-down rows
    return ImageHeader("BMP", abs(width), abs(height))


#: Samples per pixel of a TIFF page: gray, RGB, CMYK, each with alpha or a few extra samples.
_TIFF_MAX_SAMPLES = 8


def _tiff(data: bytes, max_frames: int) -> ImageHeader | str:
    """Every page's size from the chain of image file directories (each visited once: a loop ends the walk)."""
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    if big:
        offset_format, count_format, entry_size = "Q", "Q", 20
        (offset,) = struct.unpack(order + "Q", data[8:16])
    else:
        offset_format, count_format, entry_size = "I", "H", 12
        (offset,) = struct.unpack(order + "I", data[4:8])
    count_size = struct.calcsize(count_format)
    seen: set[int] = set()
    width = height = frames = 0
    while offset and offset not in seen:
        if offset + count_size > len(data):
            if frames == 0:
                return "a TIFF whose first page lies past the end of the file (truncated?)"
            break  # a broken link after some pages: those pages are what the decoders will read
        seen.add(offset)
        frames += 1
        if frames > max_frames:
            return f"a TIFF of more than {max_frames} pages (max_pages)"
        (entries,) = struct.unpack(order + count_format, data[offset : offset + count_size])
        start = offset + count_size
        end = start + entries * entry_size
        if end > len(data):
            return "a TIFF whose page directory is truncated"
        page_width = page_height = 0
        for entry in range(start, end, entry_size):
            tag, kind = struct.unpack(order + "HH", data[entry : entry + 4])
            if tag not in (256, 257, 277):
                continue
            if kind not in (3, 4, 16):  # SHORT, LONG or LONG8, stored inline
                return "a TIFF whose page size has an unexpected type"
            value_at = entry + (12 if big else 8)
            value_format = {3: "H", 4: "I", 16: "Q"}[kind]
            (value,) = struct.unpack(order + value_format, data[value_at : value_at + struct.calcsize(value_format)])
            if tag == 256:
                page_width = value
            elif tag == 257:
                page_height = value
            elif value > _TIFF_MAX_SAMPLES:  # each sample of each pixel is decoded: bounded like the pixels
                return f"a TIFF whose page {frames} has {value} samples per pixel (at most {_TIFF_MAX_SAMPLES})"
        if page_width == 0 or page_height == 0:
            return f"a TIFF whose page {frames} has no width or height"
        if page_width * page_height > width * height:  # the largest page is what must fit the limit
            width, height = page_width, page_height
        link = data[end : end + struct.calcsize(offset_format)]
        if len(link) < struct.calcsize(offset_format):
            break  # no link to a next page: the pages so far are what the decoders read
        (offset,) = struct.unpack(order + offset_format, link)
    return ImageHeader("TIFF", width, height, frames)


def _webp(data: bytes) -> ImageHeader | str:
    chunk = data[12:16]
    if chunk == b"VP8X":  # the extended format: the canvas size, 24 bits each, minus one
        if len(data) < 30:
            raise ValueError("the VP8X chunk is cut short")
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return ImageHeader("WEBP", width, height)
    if chunk == b"VP8L":  # lossless: 14-bit sizes minus one after a signature byte
        if data[20] != 0x2F:
            return "a lossless WebP with a bad signature"
        (bits,) = struct.unpack("<I", data[21:25])
        return ImageHeader("WEBP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8 ":  # lossy: after the frame tag and start code, 14-bit sizes
        if data[23:26] != b"\x9d\x01\x2a":
            return "a lossy WebP with a bad start code"
        width, height = struct.unpack("<HH", data[26:30])
        return ImageHeader("WEBP", width & 0x3FFF, height & 0x3FFF)
    return "a WebP without an image chunk"


def _avif(data: bytes) -> ImageHeader | str:
    """The largest 'ispe' (image spatial extents) property: the full image, a grid's output, or its tiles."""
    width = height = 0
    for match in re.finditer(rb"ispe", data[: 1 << 20]):
        at = match.end() + 4  # after version and flags
        if at + 8 > len(data):
            break
        box_width, box_height = struct.unpack(">II", data[at : at + 8])
        if box_width * box_height > width * height:
            width, height = box_width, box_height
    if width == 0:
        return "an AVIF without image extents (ispe)"
    return ImageHeader("AVIF", width, height)


def _text_fields(data: bytes, count: int, start: int) -> list[int]:
    """The first ``count`` whitespace-separated decimal fields after ``start``, skipping ``#`` comments."""
    text = data[start:_TEXT_HEADER_LIMIT]
    fields: list[int] = []
    position = 0
    while len(fields) < count:
        while position < len(text) and (text[position : position + 1].isspace() or text[position] == ord("#")):
            if text[position] == ord("#"):
                newline = text.find(b"\n", position)
                if newline < 0:
                    raise ValueError("a comment runs to the end of the header")
                position = newline
            position += 1
        match = re.compile(rb"[0-9]{1,10}").match(text, position)
        if match is None:
            raise ValueError("a size field is not a number")
        fields.append(int(match[0]))
        position = match.end()
    return fields


def _pnm(data: bytes) -> ImageHeader:
    width, height = _text_fields(data, 2, 2)
    return ImageHeader("PPM", width, height)


def _pam(data: bytes) -> ImageHeader | str:
    end = data.find(b"ENDHDR", 0, _TEXT_HEADER_LIMIT)
    if end < 0:
        return "a PAM header without ENDHDR"
    fields = dict(re.findall(rb"^\s*(WIDTH|HEIGHT)\s+([0-9]{1,10})\s*$", data[:end], re.MULTILINE))
    if b"WIDTH" not in fields or b"HEIGHT" not in fields:
        return "a PAM header without WIDTH and HEIGHT"
    return ImageHeader("PAM", int(fields[b"WIDTH"]), int(fields[b"HEIGHT"]))


def _pfm(data: bytes) -> ImageHeader:
    width, height = _text_fields(data, 2, 2)
    return ImageHeader("PFM", width, height)


def _hdr(data: bytes) -> ImageHeader | str:
    """Radiance: header lines up to an empty line, then the resolution line, e.g. ``-Y 480 +X 640``."""
    end = data.find(b"\n\n", 0, _TEXT_HEADER_LIMIT)
    if end < 0:
        return "a Radiance HDR header without its end (an empty line)"
    line_end = data.find(b"\n", end + 2, end + 2 + 64)
    line = data[end + 2 : line_end if line_end >= 0 else end + 2 + 64]
    match = re.fullmatch(rb"\s*([-+])([XY])\s+([0-9]{1,10})\s+([-+])([XY])\s+([0-9]{1,10})\s*", line)
    if match is None or match[2] == match[5]:
        return "a Radiance HDR file without a resolution line"
    first, second = int(match[3]), int(match[6])
    height, width = (first, second) if match[2] == b"Y" else (second, first)
    return ImageHeader("HDR", width, height)


#: JPEG 2000 allows 16384 components, each decoded into its own full-size plane: a few bytes of header could
#: declare a hundred gigabytes. Pictures have at most 4 (gray, RGB, alpha, CMYK-like).
_J2K_MAX_COMPONENTS = 4


def _j2k_siz(data: bytes, at: int) -> ImageHeader | str:
    """A codestream's SIZ segment (``at`` is just after its marker): the reference grid minus the image offset."""
    grid = struct.unpack(">IIIIIIII", data[at + 4 : at + 36])
    x_size, y_size, x_offset, y_offset, tile_width, tile_height, tile_x_offset, tile_y_offset = grid
    (components,) = struct.unpack(">H", data[at + 36 : at + 38])
    if not 1 <= components <= _J2K_MAX_COMPONENTS:
        return f"a JPEG 2000 image of {components} components (ptocr reads 1 to {_J2K_MAX_COMPONENTS})"
    if tile_width < 1 or tile_height < 1:
        return "a JPEG 2000 image with empty tiles"
    # The standard numbers tiles up to 65534; a decoder sets up every tile, so their count is bounded too.
    columns = -(-(x_size - min(tile_x_offset, x_size)) // tile_width)
    rows = -(-(y_size - min(tile_y_offset, y_size)) // tile_height)
    tiles = columns * rows
    if tiles > 65535:
        return f"a JPEG 2000 image of {tiles} tiles (the standard allows 65535)"
    return ImageHeader("JPEG2000", max(0, x_size - x_offset), max(0, y_size - y_offset))


def _jp2(data: bytes) -> ImageHeader | str:
    """The JP2 box structure: the contiguous codestream's SIZ (what the decoder will allocate)."""
    position = 0
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if length == 1:
            (length,) = struct.unpack(">Q", data[position + 8 : position + 16])
            header = 16
        elif length == 0:  # the last box runs to the end of the file
            length = len(data) - position
        if length < header:
            return "a JPEG 2000 file whose boxes are corrupt"
        if kind == b"jp2c":
            start = position + header
            if data[start : start + 4] != b"\xff\x4f\xff\x51":
                return "a JPEG 2000 codestream without its SIZ header"
            return _j2k_siz(data, start + 4)
        position += length
    return "a JPEG 2000 file without a codestream (truncated?)"


__all__ = ["ACCEPTED_FORMATS", "ImageHeader", "probe"]
