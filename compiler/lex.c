/* lex.c: being written. */
