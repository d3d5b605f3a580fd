from unitcost.cli import main

main()
