/*
 * Hardware-in-the-loop harness for AVR firmware on libsimavr: the tend tank-node firmware, or a
 * stock StandardFirmata build.
 *
 * Loads the .hex (the same file avrdude would flash) into a simulated ATmega328P at 16 MHz, feeds
 * the sensor inputs the test chooses, and exposes the UART as a pseudo-terminal that tend opens
 * like a USB-serial adapter. Bytes go both ways: what the board sends comes out of the pty, and
 * what tend writes to the pty goes into the board's UART at the line rate the firmware set.
 *
 *   tank-hil FIRMWARE.hex [--link PATH] [--adcN MV ...] [--echo-us US] [--speed X]
 *
 * stdout: "pty <slave path>" once the pty is ready (and PATH links to it).
 * stdin, one command a line, any time:
 *   adcN <millivolts>   voltage on analog pin AN, N = 0…7 (adc0: the pressure transducer on A0)
 *   echo <µs>           JSN-SR04T echo pulse width after each trigger; 0 = no echo
 * stderr, on exit: "rx <n> tx <n>", the bytes carried each way.
 * Simulated time runs at X times wall time (default 1), so firmware intervals hold.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sim_avr.h>
#include <sim_hex.h>
#include <sim_irq.h>
#include <sim_io.h>
#include <sim_cycle_timers.h>
#include <avr_uart.h>
#include <avr_adc.h>
#include <avr_ioport.h>

#define ADC_PINS 8

static int master_fd = -1;
static avr_t *avr;
static uint32_t adc_mv[ADC_PINS] = {2500};
static uint32_t echo_us = 0;
static avr_irq_t *echo_irq;
static char link_path[4096];
static unsigned long tx_bytes, rx_bytes;

static void on_uart_byte(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)param;
  uint8_t b = (uint8_t)value;
  tx_bytes++;
  /* nobody reading: drop rather than stall the simulated board (a real UART does the same) */
  if (write(master_fd, &b, 1) < 0 && errno != EAGAIN && errno != EIO) perror("pty write");
}

/*
 * Host → board. Bytes read from the pty wait in `rx` and go into the UART one per byte time at
 * the baud the firmware set, as they would arrive on a wire. simavr's UART has a 64-byte input
 * fifo and says XOFF when it is full and XON when the firmware finds it empty; while XOFF holds,
 * or before the firmware has enabled its receiver, bytes wait here instead of being dropped. The
 * pty is read only when `rx` has room, so a writer that gets ahead waits in the kernel's buffer.
 */
static uint8_t rx[4096];
static size_t rx_head, rx_len;
static int uart_xoff;
static avr_irq_t *uart_in;

/* ATmega328P USART0 registers, data space addresses (datasheet, USART0 register description) */
#define R_UCSR0A 0xC0
#define R_UCSR0B 0xC1
#define R_UBRR0L 0xC4
#define R_UBRR0H 0xC5
#define BIT_U2X0 1
#define BIT_RXEN0 4

static void on_uart_xon(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)value;
  (void)param;
  uart_xoff = 0;
}

static void on_uart_xoff(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)param;
  uart_xoff = value != 0;
}

/* cycles one 10-bit frame (start, 8 data, stop) takes at the baud in UBRR0 */
static avr_cycle_count_t cycles_per_byte(void) {
  uint32_t ubrr = avr->data[R_UBRR0L] | ((uint32_t)(avr->data[R_UBRR0H] & 0x0f) << 8);
  uint32_t div = (avr->data[R_UCSR0A] & (1 << BIT_U2X0)) ? 8 : 16;
  return (avr_cycle_count_t)div * (ubrr + 1) * 10;
}

static avr_cycle_count_t feed_uart(avr_t *a, avr_cycle_count_t when, void *param) {
  (void)param;
  if (rx_len > 0 && !uart_xoff && (a->data[R_UCSR0B] & (1 << BIT_RXEN0))) {
    uint8_t b = rx[rx_head];
    rx_head = (rx_head + 1) % sizeof rx;
    rx_len--;
    rx_bytes++;
    avr_raise_irq(uart_in, b);
  }
  return when + cycles_per_byte();
}

static void poll_pty(void) {
  while (rx_len < sizeof rx) {
    size_t tail = (rx_head + rx_len) % sizeof rx;
    size_t room = tail >= rx_head ? sizeof rx - tail : rx_head - tail;
    if (room > sizeof rx - rx_len) room = sizeof rx - rx_len;
    ssize_t n = read(master_fd, rx + tail, room);
    if (n <= 0) return; /* EAGAIN: nothing written; EIO: nobody has the port open */
    rx_len += (size_t)n;
  }
}

static void set_adc(unsigned pin, uint32_t mv) {
  adc_mv[pin] = mv;
  avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + pin), mv);
}

/* the firmware starts a conversion: hand it the voltages the test chose */
static void on_adc_trigger(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)value;
  (void)param;
  for (unsigned pin = 0; pin < ADC_PINS; pin++) avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + pin), adc_mv[pin]);
}

static avr_cycle_count_t echo_fall(avr_t *a, avr_cycle_count_t when, void *param) {
  (void)when;
  (void)a;
  (void)param;
  avr_raise_irq(echo_irq, 0);
  return 0;
}

static avr_cycle_count_t echo_rise(avr_t *a, avr_cycle_count_t when, void *param) {
  (void)when;
  (void)param;
  avr_raise_irq(echo_irq, 1);
  avr_cycle_timer_register_usec(a, echo_us, echo_fall, NULL);
  return 0;
}

/* TRIG (PB1) falling edge: the JSN-SR04T answers with an echo pulse ~100 µs later */
static void on_trig(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)param;
  if (irq->value && !value && echo_us > 0) avr_cycle_timer_register_usec(avr, 100, echo_rise, NULL);
}

/* the core's own sleep callback usleeps; pacing is done in the main loop instead */
static void no_sleep(avr_t *a, avr_cycle_count_t howLong) {
  (void)a;
  (void)howLong;
}

static void handle_line(char *line) {
  unsigned long v;
  unsigned pin;
  if (sscanf(line, "adc%u %lu", &pin, &v) == 2 && pin < ADC_PINS) {
    set_adc(pin, (uint32_t)v);
  } else if (sscanf(line, "echo %lu", &v) == 1) {
    echo_us = (uint32_t)v;
  } else if (line[0]) {
    fprintf(stderr, "tank-hil: unknown command: %s\n", line);
  }
}

static void poll_stdin(void) {
  static char buf[256];
  static size_t len;
  struct pollfd p = {.fd = 0, .events = POLLIN};
  while (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP))) {
    ssize_t n = read(0, buf + len, sizeof buf - 1 - len);
    if (n <= 0) {
      exit(0); /* the test closed our stdin: it is done with us */
    }
    len += (size_t)n;
    buf[len] = 0;
    char *nl;
    while ((nl = strchr(buf, '\n'))) {
      *nl = 0;
      handle_line(buf);
      len -= (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, len + 1);
    }
    if (len == sizeof buf - 1) len = 0;
  }
}

static void cleanup(void) {
  if (link_path[0]) unlink(link_path);
  fprintf(stderr, "rx %lu tx %lu\n", rx_bytes, tx_bytes);
}

static volatile sig_atomic_t stop_signal;

/* leave the run loop, so the counts are printed outside the signal handler */
static void on_signal(int sig) {
  stop_signal = sig;
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv) {
  const char *hex = NULL;
  double speed = 1.0;
  for (int i = 1; i < argc; i++) {
    unsigned pin;
    char end;
    if (!strcmp(argv[i], "--link") && i + 1 < argc) snprintf(link_path, sizeof link_path, "%s", argv[++i]);
    else if (sscanf(argv[i], "--adc%u%c", &pin, &end) == 1 && pin < ADC_PINS && i + 1 < argc) adc_mv[pin] = (uint32_t)strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--echo-us") && i + 1 < argc) echo_us = (uint32_t)strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--speed") && i + 1 < argc) speed = strtod(argv[++i], NULL);
    else hex = argv[i];
  }
  if (!hex || speed <= 0) {
    fprintf(stderr, "usage: tank-hil FIRMWARE.hex [--link PATH] [--adcN MV ...] [--echo-us US] [--speed X]\n");
    return 2;
  }

  avr = avr_make_mcu_by_name("atmega328p");
  if (!avr) {
    fprintf(stderr, "tank-hil: simavr has no atmega328p\n");
    return 1;
  }
  avr_init(avr);
  avr->frequency = 16000000;
  avr->vcc = avr->avcc = avr->aref = 5000; /* millivolts: the Uno's 5 V rail, AVcc reference */
  avr->sleep = no_sleep;
  avr->log = 1;

  ihex_chunk_p chunks = NULL;
  int n = read_ihex_chunks(hex, &chunks);
  if (n <= 0) {
    fprintf(stderr, "tank-hil: cannot read %s\n", hex);
    return 1;
  }
  for (int i = 0; i < n; i++) {
    if (chunks[i].baseaddr < 0x800000) avr_loadcode(avr, chunks[i].data, chunks[i].size, chunks[i].baseaddr);
  }
  free_ihex_chunks(chunks);

  int slave_fd;
  char name[256];
  if (openpty(&master_fd, &slave_fd, name, NULL, NULL) < 0) {
    perror("openpty");
    return 1;
  }
  struct termios tio;
  tcgetattr(slave_fd, &tio);
  cfmakeraw(&tio);
  tcsetattr(slave_fd, TCSANOW, &tio);
  fcntl(master_fd, F_SETFL, fcntl(master_fd, F_GETFL) | O_NONBLOCK);
  /* slave_fd stays open: the pty lives while tend closes and reopens its end */

  uint32_t flags = 0;
  avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
  flags &= ~AVR_UART_FLAG_STDIO;
  avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), on_uart_byte, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON), on_uart_xon, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF), on_uart_xoff, NULL);
  uart_in = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
  avr_cycle_timer_register(avr, cycles_per_byte(), feed_uart, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_OUT_TRIGGER), on_adc_trigger, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('B'), 1), on_trig, NULL);
  echo_irq = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('B'), 0);
  for (unsigned pin = 0; pin < ADC_PINS; pin++) set_adc(pin, adc_mv[pin]);

  atexit(cleanup);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  if (link_path[0]) {
    unlink(link_path);
    if (symlink(name, link_path) < 0) {
      perror("symlink");
      return 1;
    }
  }
  printf("pty %s\n", name);
  fflush(stdout);

  uint64_t start = now_ns();
  for (unsigned long iter = 0; !stop_signal; iter++) {
    int state = avr_run(avr);
    if (state == cpu_Done || state == cpu_Crashed) {
      fprintf(stderr, "tank-hil: firmware stopped (state %d)\n", state);
      return 1;
    }
    if ((iter & 1023) == 0) {
      poll_stdin();
      poll_pty();
      /* pace simulated time to wall time × speed */
      uint64_t sim_ns = (uint64_t)((double)avr->cycle * 1e9 / avr->frequency / speed);
      uint64_t wall_ns = now_ns() - start;
      if (sim_ns > wall_ns + 1000000ull) {
        uint64_t d = sim_ns - wall_ns;
        struct timespec ts = {.tv_sec = (time_t)(d / 1000000000ull), .tv_nsec = (long)(d % 1000000000ull)};
        nanosleep(&ts, NULL);
      }
    }
  }
  return 0;
}
