"""State that every replica must see alike: rate limits and the search cache.
Redis when REDIS_URL is set; in-process otherwise (one replica on a laptop)."""
