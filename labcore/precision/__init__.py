"""Lesson 18 (mixed precision): number formats bit by bit, loss scaling, autocast on the CPU."""
