"""The HTML pages: the patient's tablet flow, the clinician pages, the public verification page."""
