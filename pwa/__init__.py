"""What the browser gets: page templates and the installable app's static files (shipped as package data)."""
