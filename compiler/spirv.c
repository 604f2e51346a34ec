/* spirv.c: being written. */
