"""aiohttp adapters: translate HTTP to calls on bot/ and back."""
