/* layout.c: being written. */
