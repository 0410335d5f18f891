// A minimal Pixel Streaming streamer for tests, standing in for Unreal: a canvas animation sent
// with captureStream() to every player the signalling server announces. Plain browser JS.
(() => {
  const params = new URLSearchParams(location.search);
  const url = params.get('ss');
  const id = params.get('id') ?? 'BrowserStreamer';

  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  document.body.append(canvas);
  const ctx = canvas.getContext('2d');
  let frame = 0;
  setInterval(() => {
    frame++;
    ctx.fillStyle = `hsl(${(frame * 7) % 360} 80% 50%)`;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#fff';
    ctx.fillText(String(frame), 10, 20);
  }, 33);
  const stream = canvas.captureStream(30);

  const state = { committedId: null, players: [], disconnected: [], pcs: new Map(), log: [], layerPreferences: [] };
  window.streamer = state;
  let peerConnectionOptions = {};
  const ws = new WebSocket(url);
  const send = (msg) => ws.send(JSON.stringify(msg));

  async function onPlayerConnected(playerId) {
    const pc = new RTCPeerConnection(peerConnectionOptions);
    state.pcs.set(playerId, pc);
    state.players.push(playerId);
    for (const track of stream.getTracks()) {
      pc.addTrack(track, stream);
    }
    pc.createDataChannel('datachannel');
    pc.onicecandidate = (e) => e.candidate && send({ type: 'iceCandidate', playerId, candidate: e.candidate.toJSON() });
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: 'offer', playerId, sdp: pc.localDescription.sdp });
  }

  ws.onmessage = async (event) => {
    const msg = JSON.parse(event.data);
    state.log.push(msg.type);
    const pc = state.pcs.get(msg.playerId);
    switch (msg.type) {
      case 'identify':
        send({ type: 'endpointId', id, protocolVersion: '1.3.0' });
        break;
      case 'config':
        peerConnectionOptions = msg.peerConnectionOptions;
        break;
      case 'endpointIdConfirm':
        state.committedId = msg.committedId;
        break;
      case 'playerConnected':
        await onPlayerConnected(msg.playerId);
        break;
      case 'answer':
        await pc?.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
        break;
      case 'iceCandidate':
        await pc?.addIceCandidate(msg.candidate);
        break;
      case 'layerPreference':
        state.layerPreferences.push(msg);
        break;
      case 'playerDisconnected':
        pc?.close();
        state.pcs.delete(msg.playerId);
        state.disconnected.push(msg.playerId);
        break;
    }
  };
  window.kick = (playerId, reason) => send({ type: 'disconnectPlayer', playerId, reason });
})();
