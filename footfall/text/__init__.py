"""Words around numbers, shared by the pages and the command line: plurals, byte sizes."""
