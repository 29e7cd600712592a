from txassist.cli import main

raise SystemExit(main())
