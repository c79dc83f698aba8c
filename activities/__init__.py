"""Side effects, kept thin: each activity calls trading/, exchanges/, store/ or agents/."""
