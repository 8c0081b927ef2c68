from shotsmith.cli import main

main()
