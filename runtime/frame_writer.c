/* frame_writer.c: being written. */
