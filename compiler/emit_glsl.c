/* emit_glsl.c: being written. */
