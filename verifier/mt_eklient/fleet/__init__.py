"""The fleet overview for the people who decide (`mtk report fleet`): hosts ranked by exposure
(Normen 5.2), the Windows life cycle per edition and profile, and trends from the scan history."""
