"""Printable documents: the blank consent form and the patient's receipt, rendered to PDF with
WeasyPrint from templates/pdf/, offline (fonts shipped in the package, no network fetch), and
cached by content hash."""
