from mcp_backup.cli import main

raise SystemExit(main())
