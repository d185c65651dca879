"""The documents over the API: a request's blank form, a consent's receipt, a withdrawal's
receipt, as PDF."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from consent.api.schemas import ErrorSchema
from consent.db import db
from consent.web.auth import current_caller, require_scope
from consent.web.context import runtime
from consent.web.pdf import pdf_response
from consent.workflows.documents import form_job, receipt_job
from consent.workflows.withdrawal_documents import withdrawal_receipt_job

blp = Blueprint("documents", __name__, url_prefix="/api/v1", description="Printable documents")

PDF_SCHEMA = {"type": "string", "format": "binary"}


@blp.route("/requests/<request_id>/form.pdf", methods=["GET"])
@require_scope("consents:write")
@blp.response(200, PDF_SCHEMA, content_type="application/pdf")
@blp.alt_response(404, schema=ErrorSchema, description="No such request.")
@blp.alt_response(409, schema=ErrorSchema, description="The request already has a decision.")
@blp.alt_response(410, schema=ErrorSchema, description="The patient was erased.")
def request_form(request_id: str) -> Response:
    """The request's blank paper form (A4): the form text, the media, a yes/no box per use."""
    return pdf_response(form_job(db.session, runtime(), request_id, scope=current_caller().scope))


@blp.route("/consents/<consent_id>/receipt.pdf", methods=["GET"])
@require_scope("consents:write")
@blp.response(200, PDF_SCHEMA, content_type="application/pdf")
@blp.alt_response(404, schema=ErrorSchema, description="No such consent.")
@blp.alt_response(410, schema=ErrorSchema, description="The patient was erased.")
def consent_receipt(consent_id: str) -> Response:
    """The patient's receipt (PDF/A-3b), with the envelope, proof and keys attached."""
    return pdf_response(
        receipt_job(db.session, runtime(), consent_id, scope=current_caller().scope)
    )


@blp.route("/withdrawals/<withdrawal_id>/withdrawal-receipt.pdf", methods=["GET"])
@require_scope("consents:write")
@blp.response(200, PDF_SCHEMA, content_type="application/pdf")
@blp.alt_response(404, schema=ErrorSchema, description="No such withdrawal.")
def withdrawal_receipt(withdrawal_id: str) -> Response:
    """A withdrawal's receipt (PDF/A-3b): what was withdrawn, when, what remains; with the
    signed withdrawal receipt, its log proof and the keys attached."""
    return pdf_response(
        withdrawal_receipt_job(db.session, runtime(), withdrawal_id, scope=current_caller().scope)
    )
