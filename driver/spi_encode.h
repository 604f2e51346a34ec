/*
 * spi_encode.h - byte streams for SPI-driven LED chips, separate from the
 * device I/O so tests can check them against hand-computed buffers.
 *
 * APA102 / SK9822: 4 zero bytes, then per LED 0xE0|global (5-bit brightness)
 * and the three colour bytes in wire order, then (SK9822) a 4-byte zero
 * reset frame, then zero end bytes: ceil(n/16) rounded up to 4 (at least 4),
 * enough clock edges to push data to the end of the chain.
 *
 * WS2812 / SK6812: each data bit becomes 3 SPI bits (100 / 110, at 2.4 MHz)
 * or 4 (1000 / 1100, at ~3.2 MHz); a leading zero byte keeps MOSI low, and
 * trailing zero bytes hold it low for >= 300 us so the chips latch.
 */
#ifndef DRV_SPI_ENCODE_H
#define DRV_SPI_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

size_t spi_apa102_end_bytes(uint32_t leds);
size_t spi_apa102_size(uint32_t leds, bool sk9822);
/* Writes spi_apa102_size() bytes; global is 0..31. Returns the bytes written. */
size_t spi_apa102_encode(const uint8_t *wire, uint32_t leds, uint8_t global, bool sk9822,
                         uint8_t *out);

/* Zero bytes that hold MOSI low >= 300 us at speed_hz. */
uint32_t spi_ws2812_reset_bytes(uint32_t speed_hz);
size_t spi_ws2812_size(uint32_t leds, int bits_per_bit, uint32_t reset_bytes);
/* bits_per_bit is 3 or 4. Returns the bytes written (spi_ws2812_size()). */
size_t spi_ws2812_encode(const uint8_t *wire, uint32_t leds, int bits_per_bit, uint32_t reset_bytes,
                         uint8_t *out);

#endif
