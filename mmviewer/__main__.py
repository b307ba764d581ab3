from mmviewer.cli import main

raise SystemExit(main())
