"""The end-to-end test's echo app: records the params and environment it received, then idles.

The test compares them with the topology's values, which are full of what a shell, compose or
Go's templates would expand: what arrives here must be what the user wrote.
"""

import asyncio
import os


async def app(wot, conf, loop, env_names: list, **params):
    conf.write_metric("received", None, params=params, env={name: os.environ.get(name) for name in env_names})
    await asyncio.Event().wait()  # stay up until the stop cancels it
