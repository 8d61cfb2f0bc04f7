print("postgate")
