/* ops.c: being written. */
