"""Training tricks for deep networks (the book's seed lesson "tricks", with lesson 12): why the starting weights
decide whether a deep net can learn at all. Pure functions, instant; the Training tricks page draws them with
`labcore.tricks.figures`."""
