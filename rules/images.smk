# Stage rules for 'images' (written by the stage's owner).
