/* frame_format.c: being written. */
