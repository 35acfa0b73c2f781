"""Real HTTP clients (httpx, aiohttp, asyncio, urllib) on every backend, against real servers."""
