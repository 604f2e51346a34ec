/* eval.c: being written. */
