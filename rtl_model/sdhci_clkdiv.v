// SD clock generator of the SDHCI v3.00 10-bit divided clock mode.
//
// N = {upper, lower} divider: N = 0 gives sdclk = clk (gated), N >= 1 gives
// clk / (2N) with a 50 % duty cycle. `tick` marks, in the clk domain, the
// clk rising edge at which sdclk rises: the engines sample the SD pins and
// advance one SD cycle at that edge. `launch` is high while the engines'
// outputs may be copied to the pads on the falling edge of clk, i.e. while
// sdclk is low, so pad changes follow the sdclk falling edge.
// `hold` stops sdclk low (read wait by clock stop when the buffer is full).
`default_nettype none

module sdhci_clkdiv (
    input  wire       clk,
    input  wire       rst_n,
    input  wire       int_clk_en,   // Clock Control bit 0
    input  wire       sd_clk_en,    // Clock Control bit 2
    input  wire [9:0] div,          // {bits 7:6, bits 15:8} of Clock Control
    input  wire       hold,
    output reg        int_clk_stable,
    output wire       sdclk,
    output wire       tick,
    output wire       launch
);
    wire run = int_clk_en & sd_clk_en;
    wire bypass = (div == 10'd0);

    // Internal clock stable two clk cycles after the internal clock enable.
    reg stable_pipe;
    wire stable_settled = rst_n && (stable_pipe == int_clk_en) && (int_clk_stable == int_clk_en);
    always @(posedge clk) if ((!stable_settled)) begin
        if (!rst_n || !int_clk_en) begin
            stable_pipe <= 1'b0;
            int_clk_stable <= 1'b0;
        end else begin
            stable_pipe <= 1'b1;
            int_clk_stable <= stable_pipe;
        end
    end

    // Divided clock, N >= 1: sdclk toggles every N clk cycles.
    reg [9:0] cnt;
    reg       sdclk_q;
    wire      edge_due = (cnt == div - 10'd1);
    wire      div_stopped = !rst_n || !run || bypass;
    wire      div_settled = rst_n && div_stopped && (cnt == 10'd0) && !sdclk_q;
    always @(posedge clk) if ((!div_settled)) begin
        if (div_stopped) begin
            cnt <= 10'd0;
            sdclk_q <= 1'b0;
        end else if (edge_due) begin
            cnt <= 10'd0;
            if (sdclk_q)
                sdclk_q <= 1'b0;
            else if (!hold)
                sdclk_q <= 1'b1;
        end else begin
            cnt <= cnt + 10'd1;
        end
    end

    // Undivided clock, N = 0: clk gated by an enable that changes only while
    // clk is low (the latch of an integrated clock gate), so no glitches.
    reg gate_q;
    wire gate_d = rst_n & run & bypass & ~hold;
    always @(negedge clk) if ((!rst_n || gate_q != gate_d))
        gate_q <= gate_d;

    /* verilator lint_off SYNCASYNCNET */
    assign sdclk = bypass ? (clk & gate_q) : sdclk_q;
    /* verilator lint_on SYNCASYNCNET */
    assign tick = bypass ? gate_q : (run & edge_due & ~sdclk_q & ~hold);
    assign launch = bypass | ~sdclk_q;
endmodule

`default_nettype wire
