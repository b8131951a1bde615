"""Safe fetching from the network: ``ImageFetcher`` gets a first-frame image from an http(s)
URL a client gave us, and ``netcheck`` decides which addresses and URLs may be reached at all
(no loopback, private, link-local or metadata addresses; SSRF-safe on every redirect).
``connect`` talks HTTP to a checked address within a deadline, for the fetcher and the webhook
sender alike."""

from reelforge.net.fetch import ImageFetcher

__all__ = ["ImageFetcher"]
