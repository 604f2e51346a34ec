/* opt.c: being written. */
