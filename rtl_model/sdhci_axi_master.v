// sdhci_axi_master: the controller's AXI4 master on host memory (32-bit data,
// 32-bit addresses), shared by SDMA and ADMA2 through sdhci_dma.
//
// The DMA engine asks for one segment at a time: `req_words` 32-bit words at
// a word address, read or write. The master cuts the segment into INCR
// bursts that never cross a 4 KiB boundary (AXI4, A3.4.1) and runs them one
// after another, one burst outstanding, address phase before data phase.
// Good read beats are handed over as they arrive (rd_beat, rd_data); write beats
// take wr_data, which the engine presents combinationally (wr_beat says the
// beat went). A SLVERR or DECERR on any read beat or write response marks
// the segment failed: the rest of it is not issued, and `done` comes with
// `err`. The bursts in flight always complete, as AXI requires; only rst
// (rst_n) stops the master, software resets only stop the engine above it.
`default_nettype none

module sdhci_axi_master (
    input  wire        clk,
    input  wire        rst,
    // segment requests
    input  wire        req,            // taken when idle
    input  wire        req_write,      // 1: memory write, 0: memory read
    input  wire [31:2] req_addr,       // word address
    input  wire [7:0]  req_words,      // 1..255
    output wire        idle,
    output reg         done,           // one clk: the segment ended
    output reg         err,            // valid with done: SLVERR/DECERR seen
    output wire        rd_beat,
    output wire [31:0] rd_data,
    input  wire [31:0] wr_data,
    output wire        wr_beat,
    // AXI4 master, write channels
    output wire        m_axi_awid,
    output wire [31:0] m_axi_awaddr,
    output wire [7:0]  m_axi_awlen,
    output wire [2:0]  m_axi_awsize,
    output wire [1:0]  m_axi_awburst,
    output wire        m_axi_awlock,
    output wire [3:0]  m_axi_awcache,
    output wire [2:0]  m_axi_awprot,
    output wire        m_axi_awvalid,
    input  wire        m_axi_awready,
    output wire [31:0] m_axi_wdata,
    output wire [3:0]  m_axi_wstrb,
    output wire        m_axi_wlast,
    output wire        m_axi_wvalid,
    input  wire        m_axi_wready,
    input  wire        m_axi_bid,
    input  wire [1:0]  m_axi_bresp,
    input  wire        m_axi_bvalid,
    output wire        m_axi_bready,
    // AXI4 master, read channels
    output wire        m_axi_arid,
    output wire [31:0] m_axi_araddr,
    output wire [7:0]  m_axi_arlen,
    output wire [2:0]  m_axi_arsize,
    output wire [1:0]  m_axi_arburst,
    output wire        m_axi_arlock,
    output wire [3:0]  m_axi_arcache,
    output wire [2:0]  m_axi_arprot,
    output wire        m_axi_arvalid,
    input  wire        m_axi_arready,
    input  wire        m_axi_rid,
    input  wire [31:0] m_axi_rdata,
    input  wire [1:0]  m_axi_rresp,
    input  wire        m_axi_rlast,
    input  wire        m_axi_rvalid,
    output wire        m_axi_rready
);
    localparam [2:0] IDLE = 3'd0, AR = 3'd1, R = 3'd2, AW = 3'd3, W = 3'd4, B = 3'd5;

    reg [2:0]  state;
    reg [31:2] addr;        // next burst's first word
    reg [7:0]  left;        // words of the segment not yet in a burst
    reg [7:0]  beats;       // write beats left in the current burst
    reg        failed;

    // Burst: the rest of the segment, cut at the next 4 KiB boundary.
    wire [10:0] to_4k = 11'd1024 - {1'b0, addr[11:2]};
    wire [7:0]  burst = ({3'd0, left} < to_4k) ? left : to_4k[7:0];

    assign idle = (state == IDLE);
    assign m_axi_awid = 1'b0;                // one burst outstanding: one ID
    assign m_axi_arid = 1'b0;
    assign m_axi_awaddr = {addr, 2'b00};
    assign m_axi_araddr = {addr, 2'b00};
    assign m_axi_awlen = burst - 8'd1;
    assign m_axi_arlen = burst - 8'd1;
    assign m_axi_awsize = 3'b010;           // 4 bytes per beat
    assign m_axi_arsize = 3'b010;
    assign m_axi_awburst = 2'b01;           // INCR
    assign m_axi_arburst = 2'b01;
    assign m_axi_awlock = 1'b0;
    assign m_axi_arlock = 1'b0;
    assign m_axi_awcache = 4'b0011;         // normal, non-cacheable, bufferable
    assign m_axi_arcache = 4'b0011;
    assign m_axi_awprot = 3'b000;           // unprivileged, secure, data
    assign m_axi_arprot = 3'b000;
    assign m_axi_awvalid = (state == AW);
    assign m_axi_arvalid = (state == AR);
    assign m_axi_wvalid = (state == W);
    assign m_axi_wdata = wr_data;
    assign m_axi_wstrb = 4'hF;
    assign m_axi_wlast = (beats == 8'd1);
    assign m_axi_bready = (state == B);
    assign m_axi_rready = (state == R);
    // Beats from the first SLVERR/DECERR of a segment on are not handed over:
    // the engine never stores data the memory refused.
    assign rd_beat = (state == R) && m_axi_rvalid && !m_axi_rresp[1] && !failed;
    assign rd_data = m_axi_rdata;
    assign wr_beat = (state == W) && m_axi_wready;
    wire   unused_in = m_axi_bresp[0] ^ m_axi_rresp[0] ^ m_axi_bid ^ m_axi_rid;   // (EX)OKAY alike, one ID

    // Enable (exact: 0 only when the body would change nothing; see README, Simulation speed):
    // idle with no request and no done pulse to end.
    wire quiet = !rst && (state == IDLE) && !req && !done;
    always @(posedge clk) if ((!quiet)) begin
        done <= 1'b0;
        if (rst) begin
            state <= IDLE;
            addr <= 30'd0;
            left <= 8'd0;
            beats <= 8'd0;
            failed <= 1'b0;
            err <= 1'b0;
        end else begin
            case (state)
                IDLE: if (req) begin
                    addr <= req_addr;
                    left <= req_words;
                    failed <= 1'b0;
                    state <= req_write ? AW : AR;
                end
                AR: if (m_axi_arready) begin
                    addr <= addr + {22'd0, burst};
                    left <= left - burst;
                    state <= R;
                end
                R: if (m_axi_rvalid) begin
                    if (m_axi_rresp[1])             // SLVERR (10) or DECERR (11)
                        failed <= 1'b1;
                    if (m_axi_rlast) begin
                        if (left == 8'd0 || failed || m_axi_rresp[1]) begin
                            done <= 1'b1;
                            err <= failed || m_axi_rresp[1];
                            state <= IDLE;
                        end else begin
                            state <= AR;
                        end
                    end
                end
                AW: if (m_axi_awready) begin
                    addr <= addr + {22'd0, burst};
                    left <= left - burst;
                    beats <= burst;
                    state <= W;
                end
                W: if (m_axi_wready) begin
                    beats <= beats - 8'd1;
                    if (beats == 8'd1)
                        state <= B;
                end
                B: if (m_axi_bvalid) begin
                    if (left == 8'd0 || m_axi_bresp[1]) begin
                        done <= 1'b1;
                        err <= m_axi_bresp[1];
                        state <= IDLE;
                    end else begin
                        state <= AW;
                    end
                end
                default: state <= IDLE;
            endcase
        end
    end
endmodule

`default_nettype wire
