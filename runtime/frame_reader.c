/* frame_reader.c: being written. */
