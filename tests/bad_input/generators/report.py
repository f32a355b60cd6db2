"""Inputs of the report cases (issue 16): a small hand-made search report whose results name
images under images/ (one good PNG, one corrupt file), an eval report, a file that is not JSON
and a JSON object that is not a search report.

  search.json      two queries (one failed), hits red.png and corrupt.png
  images/red.png   a 4 x 4 red PNG
  images/corrupt.png  bytes that are no image
  eval.json, not_json.json, empty_object.json
"""
import json
import os
import struct
import zlib


def _png(width, height, rgb):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def generate(out_dir):
    images = os.path.join(out_dir, "images")
    os.makedirs(images, exist_ok=True)
    with open(os.path.join(images, "red.png"), "wb") as f:
        f.write(_png(4, 4, (255, 0, 0)))
    with open(os.path.join(images, "corrupt.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n but nothing after the signature")
    hit = lambda rank, name: {"rank": rank, "image_id": name, "file_path": name,
                              "distance": float(rank), "confidence": 0.5,
                              "dominant_colors": ["#ff0000"]}
    report = {"total_queries": 2, "successful_queries": 1, "failed_queries": 1,
              "results": [{"query_id": "red", "success": True,
                           "query": {"colors": ["#ff0000"], "weights": [1.0]},
                           "results_count": 2,
                           "results": [hit(1, "red.png"), hit(2, "corrupt.png")],
                           "metadata": {"total_time_ms": 1.0}},
                          {"query_id": "bad", "success": False,
                           "error": "colors[0] 'x': not a hex colour", "results": [],
                           "results_count": 0}],
              "performance_stats": {"p50_search_time": 0.001},
              "run": {"ranks": 1, "threads_per_rank": 1, "io_mode": "scatter",
                      "timings_ms": {"read": 1.0}, "per_rank": [{"rank": 0}]}}
    with open(os.path.join(out_dir, "search.json"), "w") as f:
        json.dump(report, f)
    with open(os.path.join(out_dir, "eval.json"), "w") as f:
        json.dump({"modes": [], "dataset": "x.h5", "truth": {}, "total_queries": 0}, f)
    with open(os.path.join(out_dir, "not_json.json"), "w") as f:
        f.write("total_queries: 2\n")
    with open(os.path.join(out_dir, "empty_object.json"), "w") as f:
        f.write("{}\n")
