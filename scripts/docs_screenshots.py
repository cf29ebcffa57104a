"""Check that the built site renders: headless Chromium screenshots of key pages.

    python scripts/docs_screenshots.py site/     # writes site/_screenshots/*.png

Fails (exit 1) when Chromium is missing, a screenshot is not produced, or a page renders
blank (almost uniform pixels). Install Chromium with the system package manager
(``apt-get install chromium``); set ``ARRAYLOSS_DOCS_SCREENSHOTS=0`` to skip on purpose.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PAGES = ["index.html", "backends.html", "migration.html", "gallery.html",
         "api/regression.html", "api/classification.html"]


def browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def main() -> int:
    if os.environ.get("ARRAYLOSS_DOCS_SCREENSHOTS") == "0":
        print("screenshots skipped (ARRAYLOSS_DOCS_SCREENSHOTS=0)")
        return 0
    site = Path(sys.argv[1] if len(sys.argv) > 1 else "site").resolve()
    exe = browser()
    if exe is None:
        print("no Chromium found: apt-get install chromium (or ARRAYLOSS_DOCS_SCREENSHOTS=0)")
        return 1
    import matplotlib.image as mpimg

    out = site / "_screenshots"
    out.mkdir(exist_ok=True)
    failed = []
    for page in PAGES:
        src = site / page
        if not src.exists():
            continue
        png = out / (page.replace("/", "_").removesuffix(".html") + ".png")
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--window-size=1280,1000",
                        f"--screenshot={png}", src.as_uri()],
                       capture_output=True, timeout=120, check=False)
        if not png.exists():
            failed.append(f"{page}: no screenshot")
            continue
        pixels = mpimg.imread(png)
        spread = float(pixels[..., :3].std())
        status = "ok" if spread > 0.02 else "BLANK"
        if status != "ok":
            failed.append(f"{page}: blank (pixel std {spread:.4f})")
        print(f"{page:28s} {status}  {png.relative_to(site)}  pixel std {spread:.3f}")
    if failed:
        print("\n".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
