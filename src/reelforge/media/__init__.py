"""Media: encode/mux MP4 (H.264 + AAC, faststart), thumbnail (webp), spritesheet (jpg), probe."""
