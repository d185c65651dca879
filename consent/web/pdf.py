"""A document as an HTTP answer, rendered through this worker's cache."""

from __future__ import annotations

from flask import Response

from consent.documents.render import PdfJob, render
from consent.web.context import runtime


def pdf_response(job: PdfJob, *, download: bool = False) -> Response:
    """The job's PDF, never stored by a browser or proxy cache (it shows a patient's images)."""
    rt = runtime()
    pdf = render(
        job, cache_=rt.pdf_cache, max_pixels=rt.settings.max_image_pixels, sealer=rt.sealer
    )
    response = Response(pdf, mimetype="application/pdf")
    disposition = "attachment" if download else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{job.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
