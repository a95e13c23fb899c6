"""Self-monitoring: memory leak detection, allocation snapshots and readiness bookkeeping.

Plain Python: nothing here imports the web framework or a database driver.
"""
