"""The legal documents of the one-stop shop (docs/documents.md): receipt, supplement request, refusal, apology,
stop notice, processing-control record and the dossier register, as printable HTML and as PDF with a QR code."""
