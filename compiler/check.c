/* check.c: being written. */
