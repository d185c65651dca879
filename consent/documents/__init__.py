"""Printable documents: PDF rendering (WeasyPrint), QR codes and thumbnails. Handed their data;
they never query."""
