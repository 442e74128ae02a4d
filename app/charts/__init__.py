"""Server-side charts. ``app.charts.svg`` draws them as self-contained SVG strings, so the same
chart serves a dashboard page and the PDF: no scripts, no external fonts, no CDN."""
